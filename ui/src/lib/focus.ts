// Moves keyboard focus to an element when it appears (a screen's heading, or the button that
// replaces the one just pressed), so focus is never lost to the page's top.
export function autofocus(node: HTMLElement): void {
  node.focus();
}
