/**
 * The coordinator calls the transfer manager makes (`trpcTransferApi`; tests may fake them), and the shapes
 * they return.
 */
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/routers/_app';
import { getLiveHub } from '../live-client';
import { trpcClient, type AppClient } from '../trpc-client';
import type { SignalMessage } from './peer';

type Outputs = inferRouterOutputs<AppRouter>;
export type ServerTransfer = Outputs['content']['transfers'][number];
export type ServerStatus = ServerTransfer['status'];
export type PresenceDevice = { deviceId: string; name: string; handle: string; nearby: boolean };

/** The coordinator calls the manager makes; `trpcTransferApi` provides them, tests may fake them. */
export interface TransferApi {
  transfers(deviceId: string): Promise<ServerTransfer[]>;
  updateTransfer(input: { transferId: string; deviceId: string; verifiedChunks: number; status?: 'ACTIVE' | 'COMPLETED' | 'CANCELLED' | 'FAILED' }): Promise<unknown>;
  /** contractId: take the item against a barter's file leg instead of buying it */
  request(itemId: string, deviceId: string, contractId?: string): Promise<{ transfer: { id: string }; contractId: string | null }>;
  sendSignal(fromDeviceId: string, toDeviceId: string, message: SignalMessage): Promise<unknown>;
  /** Calls `onSignal` with each signal addressed to the device (unvalidated); returns an unsubscribe. */
  inbox(deviceId: string, onSignal: (signal: unknown) => void, onError: (error: unknown) => void): () => void;
  presence(deviceId: string, communityId: string, onList: (list: PresenceDevice[]) => void, onError: (error: unknown) => void): () => void;
}

export function trpcTransferApi(
  client: AppClient = trpcClient(),
): TransferApi {
  return {
    transfers: (deviceId) => client.content.transfers.query({ deviceId }),
    updateTransfer: (input) => client.content.updateTransfer.mutate(input),
    request: (itemId, deviceId, contractId) => client.content.request.mutate({ itemId, deviceId, ...(contractId ? { contractId } : {}) }),
    sendSignal: (fromDeviceId, toDeviceId, message) => client.signal.send.mutate({ fromDeviceId, toDeviceId, message }),
    // both through the browser's one live stream (app/_lib/live-hub.ts): no request of their own
    inbox: (deviceId, onSignal) => getLiveHub().watchSignals(deviceId, ({ fromDeviceId, fromHandle, message }) => onSignal({ fromDeviceId, fromHandle, message })),
    presence: (deviceId, communityId, onList) => getLiveHub().watchPresence(deviceId, communityId, (event) => onList(event.devices)),
  };
}
