import "@testing-library/jest-dom/vitest";

// jsdom has no layout, so no ResizeObserver; `bind:clientWidth` needs one to exist.
class NoLayoutResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}
globalThis.ResizeObserver ??= NoLayoutResizeObserver;
