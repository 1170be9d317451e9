-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "trustStreak" INTEGER NOT NULL DEFAULT 0;
