/**
 * The relay tree of a broadcast as pure functions. The broadcaster (the root) serves `rootFanOut` viewers
 * directly; a viewer that relays serves up to its own `fanOut`; a viewer that does not relay is a leaf. A joining
 * viewer, and every viewer whose parent left, is given the free place nearest the root (then the parent with the
 * fewest children, then the oldest), never inside its own subtree. With no free place, a relay takes the place of
 * the leaf nearest the root and serves it; anyone else waits until a place opens.
 */

/** A node of the tree: `parent` null means under the broadcaster; `attached` false means waiting for a parent. */
export type TreeNode = { id: string; parent: string | null; attached: boolean; relay: boolean; fanOut: number; joinedAt: number };
export type Tree = { rootFanOut: number; nodes: TreeNode[] };
export type Move = { id: string; parent: string | null };

const byId = (tree: Tree) => new Map(tree.nodes.map((n) => [n.id, n]));

export function childrenOf(tree: Tree, parent: string | null): TreeNode[] {
  return tree.nodes.filter((n) => n.attached && n.parent === parent);
}

/** Depth from the root (its children are at 1), or null for a node cut off from it (waiting, or under a waiting node). */
export function depthOf(tree: Tree, id: string): number | null {
  const nodes = byId(tree);
  let depth = 0;
  let node = nodes.get(id);
  const seen = new Set<string>();
  while (node) {
    if (!node.attached || seen.has(node.id)) return null;
    seen.add(node.id);
    depth++;
    if (node.parent === null) return depth;
    node = nodes.get(node.parent);
  }
  return null;
}

/** The ids of a node and everything under it. */
export function subtreeOf(tree: Tree, id: string): Set<string> {
  const out = new Set<string>([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of tree.nodes) {
      if (n.attached && n.parent !== null && out.has(n.parent) && !out.has(n.id)) {
        out.add(n.id);
        grew = true;
      }
    }
  }
  return out;
}

/** How many more children a parent (null: the broadcaster) may take. */
export function spare(tree: Tree, parent: string | null): number {
  if (parent === null) return Math.max(0, tree.rootFanOut - childrenOf(tree, null).length);
  const node = byId(tree).get(parent);
  if (!node || !node.relay) return 0;
  return Math.max(0, node.fanOut - childrenOf(tree, parent).length);
}

/** The parent a node should get: `{ parent }` (null = the broadcaster), or null when no place is free. */
export function chooseParent(tree: Tree, childId: string): { parent: string | null } | null {
  const own = subtreeOf(tree, childId);
  const candidates: { parent: string | null; depth: number; children: number; joinedAt: number }[] = [];
  if (spare(tree, null) > 0) candidates.push({ parent: null, depth: 0, children: childrenOf(tree, null).length, joinedAt: -Infinity });
  for (const n of tree.nodes) {
    if (!n.relay || own.has(n.id) || spare(tree, n.id) === 0) continue;
    const depth = depthOf(tree, n.id);
    if (depth === null) continue;
    candidates.push({ parent: n.id, depth, children: childrenOf(tree, n.id).length, joinedAt: n.joinedAt });
  }
  candidates.sort((a, b) => a.depth - b.depth || a.children - b.children || a.joinedAt - b.joinedAt);
  return candidates[0] ? { parent: candidates[0].parent } : null;
}

/**
 * Gives every waiting node a place, relays first (each one placed opens places for the others), then in the
 * order they joined. Returns the moves and the tree after them; nodes that find no place stay waiting.
 */
export function planTree(tree: Tree): { moves: Move[]; tree: Tree } {
  let current: Tree = { rootFanOut: tree.rootFanOut, nodes: tree.nodes.map((n) => ({ ...n })) };
  const moves: Move[] = [];
  const waiting = () =>
    current.nodes.filter((n) => !n.attached).sort((a, b) => Number(b.relay) - Number(a.relay) || a.joinedAt - b.joinedAt || a.id.localeCompare(b.id));
  for (const node of waiting()) {
    const choice = chooseParent(current, node.id);
    if (choice) {
      current = { ...current, nodes: current.nodes.map((n) => (n.id === node.id ? { ...n, parent: choice.parent, attached: true } : n)) };
      moves.push({ id: node.id, parent: choice.parent });
      continue;
    }
    // no free place, but a relay adds places: it takes the place of the leaf nearest the root, which goes under it
    const leaf = node.relay && node.fanOut > 0 && !current.nodes.some((n) => n.attached && n.parent === node.id) ? displaceable(current) : null;
    if (!leaf) continue;
    current = {
      ...current,
      nodes: current.nodes.map((n) => (n.id === node.id ? { ...n, parent: leaf.parent, attached: true } : n.id === leaf.id ? { ...n, parent: node.id } : n)),
    };
    moves.push({ id: node.id, parent: leaf.parent }, { id: leaf.id, parent: node.id });
  }
  return { moves, tree: current };
}

/** The leaf (a node that serves nobody) nearest the root, the newest of those: the one a waiting relay may take the place of. */
function displaceable(tree: Tree): TreeNode | null {
  const leaves = tree.nodes
    .filter((n) => n.attached && childrenOf(tree, n.id).length === 0)
    .map((n) => ({ n, depth: depthOf(tree, n.id) }))
    .filter((x): x is { n: TreeNode; depth: number } => x.depth !== null)
    .sort((a, b) => a.depth - b.depth || Number(a.n.relay) - Number(b.n.relay) || b.n.joinedAt - a.n.joinedAt);
  return leaves[0]?.n ?? null;
}

/** Takes a node out of the tree: its children wait for a new parent (their own subtrees stay with them). */
export function removeNode(tree: Tree, id: string): { tree: Tree; orphans: string[] } {
  const orphans = childrenOf(tree, id).map((n) => n.id);
  const nodes = tree.nodes.filter((n) => n.id !== id).map((n) => (orphans.includes(n.id) ? { ...n, attached: false, parent: null } : n));
  return { tree: { ...tree, nodes }, orphans };
}

/** A node stops relaying (or serves fewer): the children beyond its new fan-out, newest first, wait for a new parent. */
export function shrinkNode(tree: Tree, id: string, relay: boolean, fanOut: number): { tree: Tree; orphans: string[] } {
  const keep = relay ? Math.max(0, fanOut) : 0;
  const children = childrenOf(tree, id).sort((a, b) => a.joinedAt - b.joinedAt);
  const orphans = children.slice(keep).map((n) => n.id);
  const nodes = tree.nodes.map((n) => (n.id === id ? { ...n, relay, fanOut } : orphans.includes(n.id) ? { ...n, attached: false, parent: null } : n));
  return { tree: { ...tree, nodes }, orphans };
}
