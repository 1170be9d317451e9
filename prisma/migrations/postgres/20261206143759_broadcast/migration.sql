-- CreateTable
CREATE TABLE "Broadcast" (
    "id" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "broadcasterId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'LIVE',
    "fanOut" INTEGER NOT NULL,
    "pricePerMb" BIGINT NOT NULL,
    "budget" BIGINT NOT NULL,
    "spent" BIGINT NOT NULL DEFAULT 0,
    "commissionBps" INTEGER NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "lastSeen" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),

    CONSTRAINT "Broadcast_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BroadcastViewer" (
    "id" TEXT NOT NULL,
    "broadcastId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "relay" BOOLEAN NOT NULL DEFAULT false,
    "fanOut" INTEGER NOT NULL DEFAULT 0,
    "parentId" TEXT,
    "linkId" TEXT,
    "state" TEXT NOT NULL,
    "joinedAt" TIMESTAMP(3) NOT NULL,
    "lastSeen" TIMESTAMP(3) NOT NULL,
    "leftAt" TIMESTAMP(3),
    "earned" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "BroadcastViewer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BroadcastLink" (
    "id" TEXT NOT NULL,
    "broadcastId" TEXT NOT NULL,
    "childId" TEXT NOT NULL,
    "parentId" TEXT,
    "parentMemberId" TEXT NOT NULL,
    "parentDeviceId" TEXT NOT NULL,
    "childMemberId" TEXT NOT NULL,
    "childDeviceId" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'OPEN',
    "openedAt" TIMESTAMP(3) NOT NULL,
    "closedAt" TIMESTAMP(3),
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "mediaMs" INTEGER NOT NULL DEFAULT 0,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "receiptAt" TIMESTAMP(3),
    "paid" BIGINT,

    CONSTRAINT "BroadcastLink_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BroadcastReceipt" (
    "id" TEXT NOT NULL,
    "linkId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "bytes" BIGINT NOT NULL,
    "mediaMs" INTEGER NOT NULL,
    "at" BIGINT NOT NULL,
    "signature" TEXT NOT NULL,
    "acceptedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "BroadcastReceipt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Broadcast_communityId_state_idx" ON "Broadcast"("communityId", "state");

-- CreateIndex
CREATE INDEX "Broadcast_state_lastSeen_idx" ON "Broadcast"("state", "lastSeen");

-- CreateIndex
CREATE INDEX "BroadcastViewer_broadcastId_state_idx" ON "BroadcastViewer"("broadcastId", "state");

-- CreateIndex
CREATE INDEX "BroadcastViewer_memberId_idx" ON "BroadcastViewer"("memberId");

-- CreateIndex
CREATE UNIQUE INDEX "BroadcastViewer_broadcastId_deviceId_key" ON "BroadcastViewer"("broadcastId", "deviceId");

-- CreateIndex
CREATE INDEX "BroadcastLink_broadcastId_state_idx" ON "BroadcastLink"("broadcastId", "state");

-- CreateIndex
CREATE INDEX "BroadcastLink_childId_state_idx" ON "BroadcastLink"("childId", "state");

-- CreateIndex
CREATE INDEX "BroadcastLink_parentId_state_idx" ON "BroadcastLink"("parentId", "state");

-- CreateIndex
CREATE UNIQUE INDEX "BroadcastReceipt_linkId_seq_key" ON "BroadcastReceipt"("linkId", "seq");

-- AddForeignKey
ALTER TABLE "BroadcastViewer" ADD CONSTRAINT "BroadcastViewer_broadcastId_fkey" FOREIGN KEY ("broadcastId") REFERENCES "Broadcast"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BroadcastLink" ADD CONSTRAINT "BroadcastLink_broadcastId_fkey" FOREIGN KEY ("broadcastId") REFERENCES "Broadcast"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BroadcastReceipt" ADD CONSTRAINT "BroadcastReceipt_linkId_fkey" FOREIGN KEY ("linkId") REFERENCES "BroadcastLink"("id") ON DELETE CASCADE ON UPDATE CASCADE;
