import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { workflowIds } from '../../workflows/ids';
import { eventually, testEnv, useService } from '../support/env';
import { noopPlan } from '../support/noop';

const CHROMIUM = process.env.KARBOR_TEST_CHROMIUM ?? '/usr/bin/chromium';

// What an operator sees in the Temporal Web UI, in a real browser (Debian's chromium).
describe('the Temporal Web UI tells the story of a run (real browser)', () => {
  const fx = useService('browser');
  let browser: Browser;
  let page: Page;
  const ui = (p: string) => `${testEnv.temporalUi}/namespaces/default${p}`;
  const list = (query: string) => ui(`/workflows?query=${encodeURIComponent(query)}`);

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  });
  after(async () => {
    await browser?.close();
  });

  /** The page's text once `wanted` shows up in it (the UI renders after its API calls). */
  async function textWith(wanted: RegExp | string): Promise<string> {
    return eventually(`"${String(wanted)}" on ${page.url()}`, async () => {
      const text = await page.innerText('body').catch(() => '');
      const found = typeof wanted === 'string' ? text.includes(wanted) : wanted.test(text);
      return found ? text : undefined;
    });
  }

  it('finds a run by KarborCheckpointId and shows each hook event’s summary naming the resource', async () => {
    const plan = noopPlan({ app: ['db'], db: [] }, { projectId: fx.cfg.projectId });
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    assert.equal((await fx.svc.waitForProtect(checkpoint_id)).status, 'available');
    const workflowId = workflowIds.protect(checkpoint_id);

    await page.goto(list(`KarborCheckpointId="${checkpoint_id}"`));
    await textWith(workflowId);
    // Open the run from the list, as a person would.
    await page.locator(`a[href*="/workflows/${workflowId}/"]`).first().click();
    await page.waitForURL(new RegExp(`/workflows/${workflowId}/[^/]+/`));
    if (!page.url().endsWith('/history'))
      await page.goto(page.url().replace(/\/[a-z-]+$/, '/history'));
    const history = await textWith('Karbor::Noop app: prepare_begin');
    assert.match(history, /Karbor::Noop db: .*main/);
    assert.match(history, /COMPLETED/);
  });

  it('a failed protect appears under the Failed filter', async () => {
    const plan = noopPlan(
      { r: [] },
      { projectId: fx.cfg.projectId, parameters: { 'Karbor::Noop': { fail_on: 'main' } } },
    );
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    assert.equal((await fx.svc.waitForProtect(checkpoint_id)).status, 'error');
    await page.goto(list(`ExecutionStatus="Failed" AND KarborCheckpointId="${checkpoint_id}"`));
    const text = await textWith(workflowIds.protect(checkpoint_id));
    assert.match(text, /FAILED/);
  });

  it('a running protect’s page shows current details that change', async () => {
    const plan = noopPlan(
      { app: ['db'], db: [] },
      { projectId: fx.cfg.projectId, parameters: { 'Karbor::Noop': { delay_ms: 1500 } } },
    );
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    const handle = fx.svc.temporal.workflow.getHandle(workflowIds.protect(checkpoint_id));
    const { runId } = await handle.describe();
    const metadataPage = ui(
      `/workflows/${workflowIds.protect(checkpoint_id)}/${runId}/user-metadata`,
    );
    // The UI renders markdown (summary, details, current details) in frames of /render.
    const rendered = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const f of page.frames()) {
        if (f.url().includes('/render?'))
          out.push((await f.innerText('body').catch(() => '')).trim());
      }
      return out;
    };
    const currentDetails = async (): Promise<string | undefined> => {
      await page.goto(metadataPage);
      return eventually('rendered current details', async () =>
        (await rendered()).find((t) => /resources done/.test(t)),
      );
    };
    const seen = new Set<string>();
    await eventually(
      'current details that change',
      async () => {
        const d = await currentDetails();
        if (d) seen.add(d);
        return seen.size >= 2 ? true : undefined;
      },
      30_000,
    );
    for (const d of seen) assert.match(d, /running: \d of 2 resources done/);
    assert.ok(
      [...seen].some((d) => /running: (app|db)/.test(d)),
      [...seen].join(' | '),
    );
    // The static details are on the same page.
    const details = await eventually('rendered static details', async () =>
      (await rendered()).find((t) => /operation: protect/.test(t)),
    );
    assert.match(details, /resources: 2/);
    assert.match(details, new RegExp(`checkpoint: ${checkpoint_id}`));
    await fx.svc.waitForProtect(checkpoint_id);
  });
});
