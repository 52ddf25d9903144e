// Small steps on the AppGrant window that read like what a person does: press a button by its
// text, wait for a screen's heading or for some text. A failed wait saves a screenshot and says
// what the screen showed instead.

/** Helpers bound to one launched app (`launchApp`'s result). */
export function screenOf(app) {
  const { browser } = app;

  async function bodyText() {
    return (await browser.$("main")).getText();
  }

  return {
    bodyText,

    /** Clicks a button by its visible text (exact), once it is there and enabled. */
    async click(text, timeout = 30_000) {
      const button = await browser.$(`button=${text}`);
      await button.waitForClickable({ timeout });
      await button.click();
    },

    /** Waits for a screen heading (h2) containing `textPart`. */
    async heading(textPart, timeout = 60_000) {
      const h = await browser.$(`h2*=${textPart}`);
      await h.waitForDisplayed({ timeout });
      return h;
    },

    /** Waits until the page shows `text` somewhere. */
    async waitForText(text, timeout = 60_000) {
      try {
        await browser.waitUntil(async () => (await bodyText()).includes(text), { timeout, interval: 250 });
      } catch {
        await app.screenshot(`failed-waiting-for-${text.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
        throw new Error(`"${text}" did not appear within ${timeout} ms; the screen said:\n${await bodyText()}`);
      }
    },
  };
}
