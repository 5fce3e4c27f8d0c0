import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { AppInstance, buildInstanceBundle, stopAllInstances } from '../support/app-instances.js';

/**
 * The multi-process harness: two real app instances (child processes, configured from ESALES_*
 * variables only) share one Elevate stand-in; one is killed with SIGKILL and the other carries on.
 */
describe('AppInstance (test support)', () => {
  let standIn: ElevateStandIn;
  let first: AppInstance;
  let second: AppInstance;

  beforeAll(async () => {
    const [bundle, started] = await Promise.all([buildInstanceBundle(), ElevateStandIn.start()]);
    standIn = started;
    const env = {
      ESALES_CLUSTER_URL: standIn.url,
      ESALES_ALLOW_INSECURE_CLUSTER_URL: 'true',
      ESALES_DEFAULT_MARKET: 'UK',
    };
    [first, second] = await Promise.all([
      AppInstance.start(bundle, env),
      AppInstance.start(bundle, env),
    ]);
  }, 60_000);

  afterAll(async () => {
    await stopAllInstances();
    await standIn?.close();
  });

  it('runs two instances in processes of their own', () => {
    expect(first.pid).not.toBe(second.pid);
    expect(first.pid).not.toBe(process.pid);
    expect(first.url).not.toBe(second.url);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('tracks a click on each, delivered to the shared stand-in', async () => {
    const answers = await Promise.all([
      first.get('/products/first-product/redirect'),
      second.get('/products/second-product/redirect'),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([302, 302]);
    expect(answers.map((answer) => answer.headers['location'])).toEqual([
      '/products/first-product',
      '/products/second-product',
    ]);

    expect(await Promise.all([first.flush(), second.flush()])).toEqual([true, true]);
    await standIn.waitForRequests(2);
    const clicks = standIn.requestsOf('non-esales-click');
    expect(clicks).toHaveLength(2);
    expect(clicks.map((click) => click.status)).toEqual([204, 204]);
    expect(clicks.map((click) => (click.body as { productKey: string }).productKey).sort()).toEqual(
      ['first-product', 'second-product'],
    );
    expect((await first.stats()).sent).toBe(1);
    expect((await second.stats()).sent).toBe(1);
  });

  it('drives the service through the test routes', async () => {
    await expect(
      first.postJson('/_test/send?kind=nonEsalesClick&productKey=sent-product'),
    ).resolves.toEqual({ ok: true });
    await expect(first.postJson('/_test/enqueue?count=3&prefix=queued')).resolves.toEqual({
      queued: 3,
    });
    await expect(first.postJson('/_test/payment?dedupeKey=order-1')).resolves.toEqual({
      queued: true,
    });
    expect(await first.flush()).toBe(true);
    const keys = standIn
      .requestsOf('non-esales-click')
      .map((click) => (click.body as { productKey: string }).productKey);
    expect(keys).toEqual(
      expect.arrayContaining(['sent-product', 'queued-0', 'queued-1', 'queued-2']),
    );
    expect(standIn.requestsOf('payment')).toHaveLength(1);
    expect(first.logs().join('\n')).toContain('LISTENING');
  });

  it('keeps serving on one instance when the other is killed with SIGKILL', async () => {
    await first.kill();
    expect(first.running).toBe(false);
    await expect(first.get('/_test/stats')).rejects.toThrow();

    const answer = await second.get('/products/after-kill/redirect');
    expect(answer.status).toBe(302);
    expect(await second.flush()).toBe(true);
    expect((await second.stats()).sent).toBe(2);
    expect(second.running).toBe(true);
  });
});
