-- AlterTable
ALTER TABLE "LedgerTransaction" ADD COLUMN "onceKey" TEXT;

-- AlterTable
ALTER TABLE "Contract" ADD COLUMN "deliveredAt" DATETIME;
ALTER TABLE "Contract" ADD COLUMN "reviewEndsAt" DATETIME;

-- CreateTable
CREATE TABLE "BarterOfferLeg" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "offerId" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "category" TEXT NOT NULL,
    "open" BOOLEAN NOT NULL DEFAULT true,
    CONSTRAINT "BarterOfferLeg_offerId_fkey" FOREIGN KEY ("offerId") REFERENCES "BarterOffer" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Throttle" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "windowStart" DATETIME NOT NULL,
    "blockedUntil" DATETIME
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Community" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "searchText" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "commissionBps" INTEGER NOT NULL,
    "startingGrant" BIGINT NOT NULL,
    "creditLimit" BIGINT NOT NULL DEFAULT 0,
    "inviteOnly" BOOLEAN NOT NULL DEFAULT false,
    "inviteCode" TEXT NOT NULL,
    "valuationRates" JSONB,
    "sweepstakesShareBps" INTEGER NOT NULL DEFAULT 0,
    "reviewPeriodHours" INTEGER NOT NULL DEFAULT 72,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_Community" ("commissionBps", "createdAt", "creditLimit", "description", "id", "inviteCode", "inviteOnly", "name", "searchText", "slug", "startingGrant", "sweepstakesShareBps", "valuationRates") SELECT "commissionBps", "createdAt", "creditLimit", "description", "id", "inviteCode", "inviteOnly", "name", "searchText", "slug", "startingGrant", "sweepstakesShareBps", "valuationRates" FROM "Community";
DROP TABLE "Community";
ALTER TABLE "new_Community" RENAME TO "Community";
CREATE UNIQUE INDEX "Community_slug_key" ON "Community"("slug");
CREATE INDEX "Community_searchText_idx" ON "Community"("searchText");
CREATE TABLE "new_DevicePairing" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "code" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "pairedId" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_DevicePairing" ("code", "createdAt", "deviceId", "expiresAt", "id", "memberId", "pairedId") SELECT "code", "createdAt", "deviceId", "expiresAt", "id", "memberId", "pairedId" FROM "DevicePairing";
DROP TABLE "DevicePairing";
ALTER TABLE "new_DevicePairing" RENAME TO "DevicePairing";
CREATE INDEX "DevicePairing_expiresAt_idx" ON "DevicePairing"("expiresAt");
CREATE INDEX "DevicePairing_code_idx" ON "DevicePairing"("code");
CREATE INDEX "DevicePairing_deviceId_idx" ON "DevicePairing"("deviceId");
CREATE INDEX "DevicePairing_pairedId_idx" ON "DevicePairing"("pairedId");
CREATE TABLE "new_CommunityLink" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "fromId" TEXT NOT NULL,
    "toId" TEXT NOT NULL,
    "proposedBy" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "cap" BIGINT NOT NULL DEFAULT 0,
    "proposedCap" BIGINT,
    "capProposedById" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acceptedAt" DATETIME
);
INSERT INTO "new_CommunityLink" ("acceptedAt", "active", "createdAt", "fromId", "id", "proposedBy", "toId") SELECT "acceptedAt", "active", "createdAt", "fromId", "id", "proposedBy", "toId" FROM "CommunityLink";
DROP TABLE "CommunityLink";
ALTER TABLE "new_CommunityLink" RENAME TO "CommunityLink";
CREATE INDEX "CommunityLink_toId_idx" ON "CommunityLink"("toId");
CREATE UNIQUE INDEX "CommunityLink_fromId_toId_key" ON "CommunityLink"("fromId", "toId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

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

-- Backfill: index the legs of offers that are still open
INSERT INTO "BarterOfferLeg" ("id", "offerId", "communityId", "direction", "category", "open")
SELECT 'leg' || lower(hex(randomblob(12))), o."id", o."communityId", 'GIVE', json_extract(l.value, '$.category'), true
FROM "BarterOffer" o, json_each(o."give") l WHERE o."status" IN ('OPEN', 'PROPOSED');
INSERT INTO "BarterOfferLeg" ("id", "offerId", "communityId", "direction", "category", "open")
SELECT 'leg' || lower(hex(randomblob(12))), o."id", o."communityId", 'WANT', json_extract(l.value, '$.category'), true
FROM "BarterOffer" o, json_each(o."want") l WHERE o."status" IN ('OPEN', 'PROPOSED');
