/**
 * How two devices actually reach each other, read from the WebRTC connection they got (getStats): the selected
 * candidate pair's local and remote candidate types. Both `host` means the packets go straight between the two
 * devices' own interface addresses, so they are on the same network ("same Wi-Fi"); a `relay` on either side
 * means a TURN server carries them; anything else (server- or peer-reflexive) is a direct path through NAT.
 * This is what the browser saw itself, so the coordinator's view (same public address) cannot be faked into it.
 */
export type ConnectionPath = 'same-network' | 'direct' | 'relayed';

type Stat = { id: string; type: string; [key: string]: unknown };

/** The path of the selected candidate pair in a getStats() report, or null while none is selected. */
export function connectionPath(report: Iterable<Stat> | Map<string, Stat>): ConnectionPath | null {
  const stats = new Map<string, Stat>();
  for (const entry of report instanceof Map ? report.values() : report) stats.set(entry.id, entry);
  let pair: Stat | undefined;
  for (const s of stats.values()) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') pair = stats.get(s.selectedCandidatePairId);
  }
  // browsers without transport stats mark the pair itself
  pair ??= [...stats.values()].find((s) => s.type === 'candidate-pair' && (s.selected === true || (s.nominated === true && s.state === 'succeeded')));
  if (!pair) return null;
  const local = stats.get(String(pair.localCandidateId));
  const remote = stats.get(String(pair.remoteCandidateId));
  if (!local || !remote) return null;
  const types = [local.candidateType, remote.candidateType];
  if (types.includes('relay')) return 'relayed';
  if (types[0] === 'host' && types[1] === 'host') return 'same-network';
  return 'direct';
}

export const PATH_LABEL: Record<ConnectionPath, string> = {
  'same-network': 'same Wi-Fi',
  direct: 'direct over the internet',
  relayed: 'relayed',
};
