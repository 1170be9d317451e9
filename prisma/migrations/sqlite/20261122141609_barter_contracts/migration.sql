-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Contract" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "communityId" TEXT NOT NULL,
    "buyOrderId" TEXT,
    "sellOrderId" TEXT,
    "barterDealId" TEXT,
    "buyerId" TEXT NOT NULL,
    "sellerId" TEXT NOT NULL,
    "category" TEXT NOT NULL,
    "unit" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "price" BIGINT NOT NULL,
    "pricing" TEXT NOT NULL,
    "windowStart" DATETIME NOT NULL,
    "windowEnd" DATETIME NOT NULL,
    "commissionBps" INTEGER NOT NULL,
    "buyerCommission" BIGINT NOT NULL,
    "sellerCommission" BIGINT NOT NULL,
    "escrowed" BIGINT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'MATCHED',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Contract_communityId_fkey" FOREIGN KEY ("communityId") REFERENCES "Community" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Contract_buyOrderId_fkey" FOREIGN KEY ("buyOrderId") REFERENCES "Order" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Contract_sellOrderId_fkey" FOREIGN KEY ("sellOrderId") REFERENCES "Order" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Contract_buyerId_fkey" FOREIGN KEY ("buyerId") REFERENCES "Member" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Contract_sellerId_fkey" FOREIGN KEY ("sellerId") REFERENCES "Member" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Contract" ("buyOrderId", "buyerCommission", "buyerId", "category", "commissionBps", "communityId", "createdAt", "escrowed", "id", "price", "pricing", "quantity", "sellOrderId", "sellerCommission", "sellerId", "state", "unit", "updatedAt", "windowEnd", "windowStart") SELECT "buyOrderId", "buyerCommission", "buyerId", "category", "commissionBps", "communityId", "createdAt", "escrowed", "id", "price", "pricing", "quantity", "sellOrderId", "sellerCommission", "sellerId", "state", "unit", "updatedAt", "windowEnd", "windowStart" FROM "Contract";
DROP TABLE "Contract";
ALTER TABLE "new_Contract" RENAME TO "Contract";
CREATE INDEX "Contract_communityId_category_createdAt_idx" ON "Contract"("communityId", "category", "createdAt");
CREATE INDEX "Contract_buyerId_state_idx" ON "Contract"("buyerId", "state");
CREATE INDEX "Contract_sellerId_state_idx" ON "Contract"("sellerId", "state");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
