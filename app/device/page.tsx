'use client';

import { memberScreen } from '../_components/member-screen';
import { RequireMember } from '../_components/require-member';

const DevicePanel = memberScreen(() => import('./device-panel').then((m) => m.DevicePanel));

export default function DevicePage() {
  return <RequireMember what="register this device">{() => <DevicePanel />}</RequireMember>;
}
