import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { tauriBackend } from "./lib/ipc";

const target = document.getElementById("app");
if (!target) throw new Error("AppGrant: #app element missing from index.html");

export default mount(App, { target, props: { backend: tauriBackend } });
