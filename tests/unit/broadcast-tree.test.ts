import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linkPay, judgeBroadcastReceipt, MAX_BYTES_PER_MS, RATE_SLACK_BYTES, type LinkForReceipt } from '@/server/broadcast/rules';
import { childrenOf, chooseParent, depthOf, planTree, removeNode, shrinkNode, subtreeOf, type Tree, type TreeNode } from '@/server/broadcast/tree';
import type { BroadcastReceipt } from '@/server/broadcast/receipt-format';

const node = (id: string, joinedAt: number, relay = false, fanOut = relay ? 3 : 0): TreeNode => ({ id, parent: null, attached: false, relay, fanOut, joinedAt });

/** Joins viewers one at a time as the coordinator does, returning the tree after each has been placed. */
function joinAll(rootFanOut: number, viewers: TreeNode[]): Tree {
  let tree: Tree = { rootFanOut, nodes: [] };
  for (const v of viewers) tree = planTree({ ...tree, nodes: [...tree.nodes, v] }).tree;
  return tree;
}

const parentOf = (tree: Tree, id: string) => tree.nodes.find((n) => n.id === id)!.parent;

/** Every attached node reaches the root, no parent serves more than its fan-out, leaves have no children, no cycles. */
function assertSound(tree: Tree) {
  expect(childrenOf(tree, null).length).toBeLessThanOrEqual(tree.rootFanOut);
  for (const n of tree.nodes) {
    const children = childrenOf(tree, n.id);
    expect(children.length).toBeLessThanOrEqual(n.relay ? n.fanOut : 0);
    if (n.attached) expect(depthOf(tree, n.id)).not.toBeNull();
  }
}

describe('broadcast tree', () => {
  it('puts the first two viewers under the broadcaster and the next ones under the relays, balanced', () => {
    const tree = joinAll(2, [node('r1', 1, true), node('r2', 2, true), node('v1', 3), node('v2', 4), node('v3', 5), node('v4', 6)]);
    expect(parentOf(tree, 'r1')).toBeNull();
    expect(parentOf(tree, 'r2')).toBeNull();
    expect(childrenOf(tree, 'r1').map((n) => n.id)).toEqual(['v1', 'v3']);
    expect(childrenOf(tree, 'r2').map((n) => n.id)).toEqual(['v2', 'v4']);
    expect(depthOf(tree, 'v4')).toBe(2);
    assertSound(tree);
  });

  it('keeps a viewer waiting when no place is free, and places it when a relay joins', () => {
    let tree = joinAll(1, [node('v1', 1), node('v2', 2)]);
    expect(tree.nodes.find((n) => n.id === 'v2')!.attached).toBe(false);
    expect(chooseParent(tree, 'v2')).toBeNull();
    // a relay that joins takes v1's place and serves v1, then v2
    const { moves } = planTree({ ...tree, nodes: [...tree.nodes, node('r', 3, true)] });
    expect(moves).toEqual([{ id: 'r', parent: null }, { id: 'v1', parent: 'r' }, { id: 'v2', parent: 'r' }]);
    // when v1 leaves instead, its place goes to v2
    const { tree: after, orphans } = removeNode(tree, 'v1');
    expect(orphans).toEqual([]);
    expect(planTree(after).moves).toEqual([{ id: 'v2', parent: null }]);
  });

  it('re-parents the children of a relay that leaves: one to the freed place at the broadcaster, one to the other relay', () => {
    const tree = joinAll(2, [node('r1', 1, true), node('r2', 2, true), node('v1', 3), node('v2', 4), node('v3', 5), node('v4', 6)]);
    const { tree: cut, orphans } = removeNode(tree, 'r1');
    expect(orphans).toEqual(['v1', 'v3']);
    const { moves, tree: after } = planTree(cut);
    expect(moves).toEqual([{ id: 'v1', parent: null }, { id: 'v3', parent: 'r2' }]);
    assertSound(after);
    expect(after.nodes.every((n) => n.attached)).toBe(true);
  });

  it('moves an orphaned relay with its whole subtree, and never under its own descendants', () => {
    // root(1) → a → b → c: a leaves; b must not be placed under c
    let tree: Tree = { rootFanOut: 1, nodes: [] };
    tree = joinAll(1, [node('a', 1, true, 1), node('b', 2, true, 1), node('c', 3, true, 1)]);
    expect(parentOf(tree, 'c')).toBe('b');
    const { tree: cut } = removeNode(tree, 'a');
    expect(subtreeOf(cut, 'b')).toEqual(new Set(['b', 'c']));
    const { moves, tree: after } = planTree(cut);
    expect(moves).toEqual([{ id: 'b', parent: null }]);
    expect(parentOf(after, 'c')).toBe('b');
    expect(depthOf(after, 'c')).toBe(2);
  });

  it('a relay that stops relaying hands back its newest children', () => {
    const tree = joinAll(1, [node('r', 1, true, 3), node('v1', 2), node('v2', 3), node('v3', 4)]);
    expect(shrinkNode(tree, 'r', true, 1).orphans).toEqual(['v2', 'v3']);
    expect(shrinkNode(tree, 'r', false, 0).orphans).toEqual(['v1', 'v2', 'v3']);
  });

  it('stays sound (fan-outs, no cycles, every placed viewer reaches the broadcaster) through random joins and leaves', () => {
    const op = fc.oneof(
      fc.record({ join: fc.boolean(), fanOut: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ leave: fc.nat(40) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 40 }), (rootFanOut, ops) => {
        let tree: Tree = { rootFanOut, nodes: [] };
        let n = 0;
        for (const o of ops) {
          if ('join' in o) tree = planTree({ ...tree, nodes: [...tree.nodes, node(`n${++n}`, n, o.join && o.fanOut > 0, o.fanOut)] }).tree;
          else if (tree.nodes.length > 0) tree = planTree(removeNode(tree, tree.nodes[o.leave % tree.nodes.length]!.id).tree).tree;
          assertSound(tree);
          // nobody waits while a place they could take is free
          for (const w of tree.nodes.filter((x) => !x.attached)) expect(chooseParent(tree, w.id)).toBeNull();
        }
      }),
    );
  });
});

describe('broadcast receipts and pay', () => {
  const opened = new Date('2026-01-01T00:00:00Z');
  const link: LinkForReceipt = { state: 'OPEN', childDeviceId: 'dev-child', openedAt: opened, bytes: 0, mediaMs: 0, seq: 0, receiptAt: null };
  const body = (over: Partial<BroadcastReceipt> = {}): BroadcastReceipt => ({ version: 1, broadcastId: 'b', linkId: 'l', deviceId: 'dev-child', seq: 1, bytes: 500_000, mediaMs: 2_000, at: 0, ...over });
  const at = (ms: number) => new Date(opened.getTime() + ms);

  it('counts a plausible receipt', () => expect(judgeBroadcastReceipt(link, body(), at(2_000))).toEqual({ ok: true }));
  it('refuses another device', () => expect(judgeBroadcastReceipt(link, body({ deviceId: 'dev-relay' }), at(2_000))).toMatchObject({ ok: false, kind: 'FORBIDDEN' }));
  it('refuses a replayed or older number', () => {
    const seen = { ...link, seq: 3, bytes: 100, mediaMs: 100, receiptAt: at(1_000) };
    expect(judgeBroadcastReceipt(seen, body({ seq: 3 }), at(2_000))).toMatchObject({ ok: false, kind: 'CONFLICT' });
    expect(judgeBroadcastReceipt(seen, body({ seq: 2 }), at(2_000))).toMatchObject({ ok: false, kind: 'CONFLICT' });
  });
  it('refuses counts going down', () => expect(judgeBroadcastReceipt({ ...link, seq: 1, bytes: 600_000 }, body({ seq: 2 }), at(2_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT' }));
  it('refuses a closed link', () => expect(judgeBroadcastReceipt({ ...link, state: 'SETTLED' }, body(), at(2_000))).toMatchObject({ ok: false, kind: 'PRECONDITION' }));
  it('refuses more bytes than the rate allows, and accepts just up to it', () => {
    const max = 2_000 * MAX_BYTES_PER_MS + RATE_SLACK_BYTES;
    expect(judgeBroadcastReceipt(link, body({ bytes: max }), at(2_000))).toEqual({ ok: true });
    expect(judgeBroadcastReceipt(link, body({ bytes: max + 1 }), at(2_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT' });
  });
  it('refuses more media time than has passed', () => expect(judgeBroadcastReceipt(link, body({ mediaMs: 60_000 }), at(2_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT' }));

  it('pays per MB, capped by the budget left, with the commission taken from it', () => {
    expect(linkPay(2_500_000, 1_000_000, 10_000_000, 200)).toEqual({ gross: 2_500_000, commission: 50_000, relay: 2_450_000 });
    expect(linkPay(2_500_000, 1_000_000, 1_000_000, 200)).toEqual({ gross: 1_000_000, commission: 20_000, relay: 980_000 });
    expect(linkPay(0, 1_000_000, 1_000_000, 200).gross).toBe(0);
    fc.assert(fc.property(fc.nat(1e10), fc.nat(1e9), fc.nat(1e12), fc.nat(10_000), (bytes, price, left, bps) => {
      const pay = linkPay(bytes, price, left, bps);
      return pay.gross <= left && pay.commission + pay.relay === pay.gross && pay.relay >= 0 && pay.commission >= 0;
    }));
  });
});
