/**
 * Shared Playwright helpers for the UI tests: headless Chromium on a code-server workbench.
 * Every wait polls for what it expects, with a timeout; on a timeout a screenshot of the page is
 * saved under test-results/ and the error says what was awaited.
 * The code-server comes from scripts/ui-tests.mjs (env GPU_LENS_UI_URL / GPU_LENS_UI_FOLDER) or from
 * `harness().startCodeServer(…)` for a test that needs its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, FrameLocator, Locator, Page } from 'playwright-core';
import { poll } from '../poll';

/** Repository root (this file is bundled to out/test/ui/). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
const resultsDir = path.join(repoRoot, 'test-results');

/** A running code-server (see scripts/code-server.mjs). */
export interface CodeServer {
  url: string;
  port: number;
  /** The server's own extensions folder (where --install-extension unpacks a VSIX). */
  extensionsDir: string;
  stop(): Promise<void>;
}

/** The JavaScript helpers of scripts/code-server.mjs, typed. */
export interface Harness {
  launchBrowser(): Promise<BrowserContext>;
  startCodeServer(o: {
    folder: string;
    linkExtension?: boolean;
    installVsix?: string;
    env?: Record<string, string>;
  }): Promise<CodeServer>;
  workbenchUrl(url: string, folder: string): string;
  extensionManifest(): { id: string; version: string };
}

/** Loads scripts/code-server.mjs (plain JS shared with the runner scripts). */
export async function harness(): Promise<Harness> {
  const href = pathToFileURL(path.join(repoRoot, 'scripts', 'code-server.mjs')).href;
  return (await import(href)) as Harness;
}

/** One browser window on a workbench. */
export class Session {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** Opens the workbench at `url` on `folder` (defaults: the run's shared code-server). */
  static async open(
    url = process.env.GPU_LENS_UI_URL,
    folder = process.env.GPU_LENS_UI_FOLDER,
  ): Promise<Session> {
    if (!url || !folder) {
      throw new Error(
        'GPU_LENS_UI_URL/GPU_LENS_UI_FOLDER unset: run the UI tests via scripts/ui-tests.mjs',
      );
    }
    const h = await harness();
    const context = await h.launchBrowser();
    const page = context.pages()[0] ?? (await context.newPage());
    // Bound every single action, so a retrying wait is never stuck inside one of them.
    page.setDefaultTimeout(10_000);
    const s = new Session(context, page);
    try {
      await page.goto(h.workbenchUrl(url, folder));
      await s.waitVisible(
        'the workbench',
        page.locator('.monaco-workbench .part.statusbar'),
        60_000,
      );
    } catch (err) {
      await s.failure('open');
      await context.close();
      throw err;
    }
    return s;
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  /** Waits until `loc` is visible; screenshots the page on timeout. */
  async waitVisible(what: string, loc: Locator, timeoutMs = 30_000): Promise<Locator> {
    try {
      await loc.first().waitFor({ state: 'visible', timeout: timeoutMs });
      return loc.first();
    } catch (err) {
      await this.failure(what);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: err });
    }
  }

  /** Like {@link poll}, plus a screenshot on timeout. */
  async until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000) {
    try {
      return await poll(what, fn, timeoutMs);
    } catch (err) {
      await this.failure(what);
      throw err;
    }
  }

  /**
   * Makes sure the quick input is open (F1 when it is not); false when it did not open in time —
   * early in startup the workbench can drop the key, so callers retry.
   */
  private async quickInput(): Promise<boolean> {
    const input = this.page.locator('.quick-input-widget input');
    if (await input.isVisible()) return true;
    await this.page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 2_000 });
      return true;
    } catch {
      return false;
    }
  }

  /** Runs a command by its palette title (F1, type, pick the matching row). Retries until listed. */
  async runCommand(title: string, timeoutMs = 30_000): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    const row = this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ hasText: title });
    await this.until(
      `command "${title}" in the palette`,
      async () => {
        if (!(await this.quickInput())) return false;
        await input.fill(`>${title}`, { timeout: 2_000 });
        try {
          await row.first().waitFor({ state: 'visible', timeout: 2_000 });
        } catch {
          // Commands appear once the extension host has registered their contributions: retry.
          await this.page.keyboard.press('Escape');
          return false;
        }
        await row.first().click();
        return true;
      },
      timeoutMs,
    );
  }

  /**
   * Runs an explorer context-menu item on a file at the workspace root (deterministic, unlike
   * typing into the simple file dialog, whose listing refreshes under the typed text).
   */
  async explorerMenu(fileName: string, itemText: string): Promise<void> {
    const row = this.page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ hasText: new RegExp(`^${fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) });
    const item = this.page.locator('.monaco-menu .action-item', { hasText: itemText });
    await this.until(`"${itemText}" run from the explorer menu of ${fileName}`, async () => {
      if ((await row.count()) === 0) return false;
      if (!(await item.first().isVisible())) {
        // Until the extension's menus are registered the item is missing: close and reopen.
        if (await this.page.locator('.monaco-menu').isVisible())
          await this.page.keyboard.press('Escape');
        await row.first().click({ button: 'right' });
        await item
          .first()
          .waitFor({ state: 'visible', timeout: 3_000 })
          .catch(() => undefined);
        return false;
      }
      // The menu takes the item once it has settled: activate it from the keyboard, and count it
      // done when the menu has closed.
      await item.first().hover();
      await this.page.keyboard.press('Enter');
      await item
        .first()
        .waitFor({ state: 'hidden', timeout: 2_000 })
        .catch(() => undefined);
      return !(await item.first().isVisible());
    });
  }

  /** Waits for a status bar item whose text matches `re` and returns its text. */
  async waitForStatusBar(re: RegExp, timeoutMs = 60_000): Promise<string> {
    const items = this.page.locator('.part.statusbar .statusbar-item');
    return this.until(
      `a status bar item matching ${re}`,
      async () => (await items.allInnerTexts()).map((t) => t.trim()).find((t) => re.test(t)),
      timeoutMs,
    );
  }

  /** Opens a workspace file by its relative path through quick open and waits for its editor. */
  async openFile(rel: string): Promise<Locator> {
    const input = this.page.locator('.quick-input-widget input');
    const base = path.basename(rel);
    await this.until(`${rel} in quick open`, async () => {
      if (!(await this.quickInput())) return false;
      await input.fill(rel, { timeout: 2_000 });
      const row = this.page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row')
        .filter({ hasText: base });
      try {
        await row.first().waitFor({ state: 'visible', timeout: 3_000 });
      } catch {
        await this.page.keyboard.press('Escape');
        return false;
      }
      await row.first().click();
      return true;
    });
    await this.waitVisible(
      `tab ${base}`,
      this.page.locator('.tabs-container .tab.active', { hasText: base }),
    );
    return this.waitVisible(
      `editor of ${rel}`,
      this.page.locator('.editor-instance .monaco-editor'),
      60_000,
    );
  }

  /** Texts of the CodeLenses currently rendered in the visible editor. */
  async codeLensTexts(): Promise<string[]> {
    const texts = await this.page.locator('.codelens-decoration').allInnerTexts();
    return texts.map((t) => t.trim()).filter(Boolean);
  }

  /** Waits for a CodeLens whose text matches `re` and returns its text. */
  async waitForCodeLens(re: RegExp, timeoutMs = 60_000): Promise<string> {
    return this.until(
      `a CodeLens matching ${re}`,
      async () => (await this.codeLensTexts()).find((t) => re.test(t)),
      timeoutMs,
    );
  }

  /** Hovers over the first token of 1-based `line` (must be rendered) and returns the hover text. */
  async hoverLine(line: number, timeoutMs = 30_000): Promise<string> {
    const editor = this.page.locator('.editor-instance .monaco-editor').first();
    const hover = this.page.locator('.monaco-hover:not(.hidden) .monaco-hover-content');
    return this.until(
      `a hover on line ${line}`,
      async () => {
        const num = editor
          .locator('.margin .line-numbers')
          .filter({ hasText: new RegExp(`^${line}$`) });
        const numBox = await num.first().boundingBox();
        if (!numBox) return false;
        // Lines are absolutely positioned: find the view-line at the same height as the number.
        const y = numBox.y + numBox.height / 2;
        for (const l of await editor.locator('.view-lines .view-line').all()) {
          const box = await l.boundingBox();
          if (!box || y < box.y || y > box.y + box.height) continue;
          const tokens = await l.locator('span > span').all();
          for (const t of tokens) {
            if (!(await t.innerText()).trim()) continue;
            const tb = await t.boundingBox();
            if (!tb) continue;
            // Two moves, so the editor sees a real mousemove over the token.
            await this.page.mouse.move(tb.x + 2, tb.y + tb.height / 2);
            await this.page.mouse.move(tb.x + 4, tb.y + tb.height / 2);
            break;
          }
        }
        try {
          await hover.first().waitFor({ state: 'visible', timeout: 2_000 });
        } catch {
          return false;
        }
        return (await hover.first().innerText()).trim() || false;
      },
      timeoutMs,
    );
  }

  /** Waits for an editor tab whose label contains `label`. */
  async waitForTab(label: string, timeoutMs = 30_000): Promise<Locator> {
    return this.waitVisible(
      `tab "${label}"`,
      this.page.locator('.tabs-container .tab', { hasText: label }),
      timeoutMs,
    );
  }

  /** The content frame of the active webview panel. */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  }

  /** Waits until the active webview's body text matches `re`; returns the whole text. */
  async webviewText(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const body = this.webview().locator('body');
    return this.until(
      `webview text matching ${re}`,
      async () => {
        const text = await body.innerText({ timeout: 1_000 });
        return re.test(text) ? text : false;
      },
      timeoutMs,
    );
  }

  /** Rows of the Problems panel (opened with Ctrl+Shift+M). */
  async problems(): Promise<string[]> {
    const rows = this.page.locator('.markers-panel .monaco-list-row');
    if (!(await this.page.locator('.markers-panel').isVisible())) {
      await this.page.keyboard.press('Control+Shift+M');
    }
    await this.waitVisible('the Problems panel', this.page.locator('.markers-panel'));
    return (await rows.allInnerTexts()).map((t) => t.trim());
  }

  /** Saves a full-page screenshot as test-results/<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  private async failure(what: string): Promise<void> {
    try {
      const file = await this.screenshot(`failure-${what}`);
      console.error(`screenshot of the failure: ${file}`);
    } catch {
      // The page may already be gone; the original error matters more.
    }
  }
}
