'use client';

import { memberScreen } from '../_components/member-screen';
import { RequireMember } from '../_components/require-member';

const TradesInbox = memberScreen(() => import('./trades-inbox').then((m) => m.TradesInbox));

export default function TradesPage() {
  return <RequireMember what="see your trades">{(member) => <TradesInbox memberId={member.id} />}</RequireMember>;
}
