// Certificates in plain language: what each way of proving an app's identity means and who holds
// what (Review's choice), and how a vendor's certificate file is read for the shell.

import type { CredentialKind } from "./types";

/** One option of Review's credential choice, in the words an admin reads. */
export interface CredentialOption {
  kind: CredentialKind;
  label: string;
  /** What it is and who holds what; `vendor` is the vendor's name. */
  explain: (vendor: string) => string;
}

export const CREDENTIAL_OPTIONS: readonly CredentialOption[] = [
  {
    kind: "secret",
    label: "Client secret",
    explain: (vendor) =>
      `A password for the app. AppGrant creates it and keeps it in this computer's credential store, and you give a copy to ${vendor}. Anyone who gets hold of a copy can act as the app until it expires.`,
  },
  {
    kind: "generated_certificate",
    label: "Certificate made by AppGrant",
    explain: (vendor) =>
      `AppGrant makes a key pair on this computer. Microsoft gets only the public certificate; the private key stays in this computer's credential store until you export it, protected by a password, for ${vendor}.`,
  },
  {
    kind: "vendor_certificate",
    label: "The vendor's certificate",
    explain: (vendor) =>
      `${vendor} makes the key pair and sends you only its public certificate (a .cer, .crt or .pem file). The private key never leaves ${vendor}, so there is nothing secret to send or to lose.`,
  },
];

export const WHY_CERTIFICATES =
  "Why security teams prefer certificates: a secret is sent to Microsoft every time the app signs in, and a copied secret works from anywhere. With a certificate the app proves that it holds the private key without ever sending it, so nothing that travels can be reused by someone else.";

/** The file types the vendor's certificate may come as. */
export const CERTIFICATE_FILE_TYPES = ".cer,.crt,.pem";

/** Base64 of raw bytes (what `inspect_certificate` takes), in chunks so big files do not overflow. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Reads a chosen file as base64 (DER or PEM, the shell tells them apart). */
export function readFileBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(bytesToBase64(new Uint8Array(reader.result as ArrayBuffer)));
    reader.onerror = () => reject(reader.error ?? new Error(`${file.name} could not be read.`));
    reader.readAsArrayBuffer(file);
  });
}

