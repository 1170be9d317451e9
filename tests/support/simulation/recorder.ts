/**
 * Runs the simulation's calls and sorts what came back: successes and expected refusals are counted
 * per operation; anything else (an INTERNAL_SERVER_ERROR, an unexpected code, an exception from a
 * sweep that is not a domain refusal) is a failure, kept with the server's logged stack. Operations
 * that must happen once report what their callers saw (e.g. two winners of one race) as anomalies.
 */
import { TRPCError } from '@trpc/server';
import { DomainError } from '@/server/errors';

export const EXPECTED_REFUSALS = ['CONFLICT', 'PRECONDITION_FAILED', 'BAD_REQUEST', 'NOT_FOUND'] as const;
type Code = TRPCError['code'];

export type Failure = { op: string; code: string; message: string; input: string; logged?: string };

const DOMAIN_CODE: Record<string, Code> = {
  BAD_INPUT: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PRECONDITION: 'PRECONDITION_FAILED',
  FORBIDDEN: 'FORBIDDEN',
};

export class Recorder {
  readonly tally = new Map<string, Map<string, number>>();
  readonly failures: Failure[] = [];
  readonly anomalies: string[] = [];
  calls = 0;
  private readonly logged: string[] = [];
  private restore: (() => void) | null = null;

  /** Keeps what the server logs for unexpected errors (with their ids), to attach it to the failure. */
  captureServerLog(echo: boolean) {
    const original = console.error;
    console.error = (...args: unknown[]) => {
      this.logged.push(args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' '));
      if (echo) original(...args);
    };
    this.restore = () => (console.error = original);
  }
  stopCapture() {
    this.restore?.();
    this.restore = null;
  }

  private count(op: string, outcome: string) {
    let byOutcome = this.tally.get(op);
    if (!byOutcome) this.tally.set(op, (byOutcome = new Map()));
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  }

  private fail(op: string, code: string, message: string, input: unknown) {
    const id = /\(error ([0-9a-f]{8})\)/.exec(message)?.[1];
    const logged = id ? this.logged.find((line) => line.includes(`[error ${id}]`)) : undefined;
    this.failures.push({ op, code, message, input: JSON.stringify(input)?.slice(0, 400) ?? '', ...(logged ? { logged: logged.slice(0, 2_000) } : {}) });
    this.count(op, `FAILED:${code}`);
  }

  /** A tRPC call; `alsoExpected` adds codes this operation provokes on purpose (FORBIDDEN for a wrong party, say). */
  async call<T>(op: string, input: unknown, run: () => Promise<T>, alsoExpected: Code[] = []): Promise<T | undefined> {
    this.calls++;
    try {
      const value = await run();
      this.count(op, 'ok');
      return value;
    } catch (error) {
      if (error instanceof TRPCError) {
        if ((EXPECTED_REFUSALS as readonly string[]).includes(error.code) || alsoExpected.includes(error.code)) {
          this.count(op, error.code);
        } else {
          this.fail(op, error.code, error.message, input);
        }
      } else {
        this.fail(op, 'NOT_A_TRPC_ERROR', error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error), input);
      }
      return undefined;
    }
  }

  /** A direct call of a domain function (a sweep): domain refusals are counted, anything else fails. */
  async direct<T>(op: string, input: unknown, run: () => Promise<T>): Promise<T | undefined> {
    this.calls++;
    try {
      const value = await run();
      this.count(op, 'ok');
      return value;
    } catch (error) {
      if (error instanceof DomainError && DOMAIN_CODE[error.kind] && DOMAIN_CODE[error.kind] !== 'FORBIDDEN') {
        this.count(op, DOMAIN_CODE[error.kind]!);
      } else {
        this.fail(op, error instanceof DomainError ? error.kind : 'EXCEPTION', error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error), input);
      }
      return undefined;
    }
  }

  /** The same call made `n` times at once; returns how many succeeded. */
  async burst<T>(op: string, input: unknown, n: number, run: () => Promise<T>, alsoExpected: Code[] = []): Promise<(T | undefined)[]> {
    return Promise.all(Array.from({ length: n }, () => this.call(op, input, run, alsoExpected)));
  }

  anomaly(text: string) {
    this.anomalies.push(text);
  }

  /** `{ op: { ok: n, CONFLICT: n, ... } }`, operations sorted by name. */
  summary(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.tally.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([op, m]) => [op, Object.fromEntries(m)]));
  }
}
