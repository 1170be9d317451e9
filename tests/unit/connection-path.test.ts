import { describe, expect, it } from 'vitest';
import { connectionPath } from '@/app/content/_components/connection-path';

/** A getStats() report as Chromium gives it: a transport naming its selected pair, the pair, its two candidates. */
function report(local: string, remote: string, { viaTransport = true } = {}) {
  return [
    ...(viaTransport ? [{ id: 'T01', type: 'transport', selectedCandidatePairId: 'CP1' }] : []),
    { id: 'CP0', type: 'candidate-pair', localCandidateId: 'L0', remoteCandidateId: 'R0', state: 'failed', nominated: false },
    { id: 'CP1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'succeeded', nominated: true, selected: !viaTransport },
    { id: 'L0', type: 'local-candidate', candidateType: 'relay' },
    { id: 'R0', type: 'remote-candidate', candidateType: 'relay' },
    { id: 'L1', type: 'local-candidate', candidateType: local },
    { id: 'R1', type: 'remote-candidate', candidateType: remote },
  ];
}

describe('connectionPath', () => {
  it('host to host is the same network', () => {
    expect(connectionPath(report('host', 'host'))).toBe('same-network');
    expect(connectionPath(new Map(report('host', 'host').map((s) => [s.id, s])))).toBe('same-network');
  });
  it('reads a real report: Chromium 1xx, a data channel between two connections over loopback (fields as getStats gave them)', () => {
    const chromium = [
      { id: 'CPHlGb2aKG_uPTJN6WD', type: 'candidate-pair', localCandidateId: 'IHlGb2aKG', remoteCandidateId: 'IuPTJN6WD', state: 'succeeded', nominated: true },
      { id: 'CPnX+TBaSQ_GO1k9C/9', type: 'candidate-pair', localCandidateId: 'InX+TBaSQ', remoteCandidateId: 'IGO1k9C/9', state: 'waiting', nominated: false },
      { id: 'IGO1k9C/9', type: 'remote-candidate', candidateType: 'host' },
      { id: 'IHlGb2aKG', type: 'local-candidate', candidateType: 'host' },
      { id: 'InX+TBaSQ', type: 'local-candidate', candidateType: 'host' },
      { id: 'IuPTJN6WD', type: 'remote-candidate', candidateType: 'host' },
      { id: 'T01', type: 'transport', selectedCandidatePairId: 'CPHlGb2aKG_uPTJN6WD' },
    ];
    expect(connectionPath(chromium)).toBe('same-network');
  });
  it('a reflexive candidate on either side is a direct path through NAT, not the same network', () => {
    expect(connectionPath(report('host', 'srflx'))).toBe('direct');
    expect(connectionPath(report('srflx', 'srflx'))).toBe('direct');
    expect(connectionPath(report('prflx', 'host'))).toBe('direct');
  });
  it('a relay on either side is relayed', () => {
    expect(connectionPath(report('host', 'relay'))).toBe('relayed');
  });
  it('reads the selected pair without transport stats, and says nothing while no pair is selected', () => {
    expect(connectionPath(report('host', 'host', { viaTransport: false }))).toBe('same-network');
    expect(connectionPath([{ id: 'T01', type: 'transport' }, { id: 'CP0', type: 'candidate-pair', state: 'in-progress' }])).toBeNull();
    expect(connectionPath([])).toBeNull();
  });
});
