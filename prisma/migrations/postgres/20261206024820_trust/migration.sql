-- AlterTable
ALTER TABLE "Community" ADD COLUMN     "reviewPeriodHours" INTEGER NOT NULL DEFAULT 72;

-- AlterTable
ALTER TABLE "LedgerTransaction" ADD COLUMN     "onceKey" TEXT;

-- AlterTable
ALTER TABLE "Contract" ADD COLUMN     "deliveredAt" TIMESTAMP(3),
ADD COLUMN     "reviewEndsAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "DevicePairing" ADD COLUMN     "attempts" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "CommunityLink" ADD COLUMN     "cap" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "capProposedById" TEXT,
ADD COLUMN     "proposedCap" BIGINT;

-- CreateTable
CREATE TABLE "BarterOfferLeg" (
    "id" TEXT NOT NULL,
    "offerId" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "category" TEXT NOT NULL,
    "open" BOOLEAN NOT NULL DEFAULT true,

    CONSTRAINT "BarterOfferLeg_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Throttle" (
    "key" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "blockedUntil" TIMESTAMP(3),

    CONSTRAINT "Throttle_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "BarterOfferLeg_communityId_direction_category_open_idx" ON "BarterOfferLeg"("communityId", "direction", "category", "open");

-- CreateIndex
CREATE INDEX "BarterOfferLeg_offerId_idx" ON "BarterOfferLeg"("offerId");

-- CreateIndex
CREATE INDEX "Throttle_windowStart_idx" ON "Throttle"("windowStart");

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "LedgerTransaction_onceKey_key" ON "LedgerTransaction"("onceKey");

-- CreateIndex
CREATE INDEX "Contract_state_reviewEndsAt_idx" ON "Contract"("state", "reviewEndsAt");

-- CreateIndex
CREATE INDEX "LiveEvent_createdAt_idx" ON "LiveEvent"("createdAt");

-- CreateIndex
CREATE INDEX "SignalEvent_createdAt_idx" ON "SignalEvent"("createdAt");

-- CreateIndex
CREATE INDEX "DevicePairing_expiresAt_idx" ON "DevicePairing"("expiresAt");

-- AddForeignKey
ALTER TABLE "BarterOfferLeg" ADD CONSTRAINT "BarterOfferLeg_offerId_fkey" FOREIGN KEY ("offerId") REFERENCES "BarterOffer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill: index the legs of offers that are still open
INSERT INTO "BarterOfferLeg" ("id", "offerId", "communityId", "direction", "category", "open")
SELECT 'leg' || md5(random()::text || o."id" || l.value::text), o."id", o."communityId", 'GIVE', l.value->>'category', true
FROM "BarterOffer" o, jsonb_array_elements(o."give") l WHERE o."status" IN ('OPEN', 'PROPOSED');
INSERT INTO "BarterOfferLeg" ("id", "offerId", "communityId", "direction", "category", "open")
SELECT 'leg' || md5(random()::text || o."id" || l.value::text), o."id", o."communityId", 'WANT', l.value->>'category', true
FROM "BarterOffer" o, jsonb_array_elements(o."want") l WHERE o."status" IN ('OPEN', 'PROPOSED');
