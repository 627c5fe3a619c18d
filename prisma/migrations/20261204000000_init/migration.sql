-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Split" AS ENUM ('TRAIN', 'HELDOUT');

-- CreateEnum
CREATE TYPE "RaterVersionStatus" AS ENUM ('QUEUED', 'TRAINING', 'READY', 'FAILED', 'CANCELED');

-- CreateEnum
CREATE TYPE "JobKind" AS ENUM ('IMPORT', 'META_TRAIN', 'SCORE', 'CURATE', 'EVALUATE');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('READER', 'WRITER', 'ADMIN');

-- CreateTable
CREATE TABLE "dataset" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "example" (
    "seq" BIGSERIAL NOT NULL,
    "dataset_id" UUID NOT NULL,
    "external_id" TEXT,
    "split" "Split" NOT NULL DEFAULT 'TRAIN',
    "text" TEXT NOT NULL,
    "label" TEXT,
    "source" TEXT,
    "byte_length" INTEGER NOT NULL,
    "content_hash" TEXT NOT NULL,
    "meta" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "example_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "rater" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rater_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rater_version" (
    "id" UUID NOT NULL,
    "rater_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "status" "RaterVersionStatus" NOT NULL DEFAULT 'QUEUED',
    "config" JSONB NOT NULL,
    "training_dataset_id" UUID,
    "heldout_dataset_id" UUID,
    "parent_version_id" UUID,
    "metrics" JSONB,
    "training_curve" JSONB NOT NULL DEFAULT '[]',
    "weights" BYTEA,
    "backend" TEXT,
    "error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "rater_version_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "checkpoint" (
    "rater_version_id" UUID NOT NULL,
    "step" INTEGER NOT NULL,
    "state" BYTEA NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoint_pkey" PRIMARY KEY ("rater_version_id")
);

-- CreateTable
CREATE TABLE "score" (
    "rater_version_id" UUID NOT NULL,
    "example_seq" BIGINT NOT NULL,
    "dataset_id" UUID NOT NULL,
    "score" REAL NOT NULL,

    CONSTRAINT "score_pkey" PRIMARY KEY ("rater_version_id","example_seq")
);

-- CreateTable
CREATE TABLE "score_range" (
    "rater_version_id" UUID NOT NULL,
    "dataset_id" UUID NOT NULL,
    "first_seq" BIGINT NOT NULL,
    "last_seq" BIGINT NOT NULL,
    "written" INTEGER NOT NULL,
    "job_id" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "score_range_pkey" PRIMARY KEY ("rater_version_id","dataset_id","first_seq")
);

-- CreateTable
CREATE TABLE "score_summary" (
    "rater_version_id" UUID NOT NULL,
    "dataset_id" UUID NOT NULL,
    "count" INTEGER NOT NULL,
    "mean" DOUBLE PRECISION NOT NULL,
    "std" DOUBLE PRECISION NOT NULL,
    "min" DOUBLE PRECISION NOT NULL,
    "max" DOUBLE PRECISION NOT NULL,
    "histogram" JSONB NOT NULL,
    "quantiles" JSONB NOT NULL,
    "groups" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "score_summary_pkey" PRIMARY KEY ("rater_version_id","dataset_id")
);

-- CreateTable
CREATE TABLE "curation" (
    "id" UUID NOT NULL,
    "source_dataset_id" UUID NOT NULL,
    "curated_dataset_id" UUID,
    "rater_version_id" UUID NOT NULL,
    "strategy" TEXT NOT NULL,
    "parameters" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "kept_count" INTEGER,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "curation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "curation_member" (
    "curation_id" UUID NOT NULL,
    "example_seq" BIGINT NOT NULL,

    CONSTRAINT "curation_member_pkey" PRIMARY KEY ("curation_id","example_seq")
);

-- CreateTable
CREATE TABLE "evaluation" (
    "id" UUID NOT NULL,
    "curation_id" UUID NOT NULL,
    "budget" JSONB NOT NULL,
    "result" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job" (
    "id" UUID NOT NULL,
    "kind" "JobKind" NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'QUEUED',
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "message" TEXT,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "parameters" JSONB NOT NULL,
    "result" JSONB,
    "subjects" JSONB NOT NULL DEFAULT '{}',
    "queue_name" TEXT,
    "queue_job_id" TEXT,
    "worker_id" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "worker" (
    "id" UUID NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "backend" TEXT NOT NULL,
    "gpu" BOOLEAN NOT NULL,
    "queues" TEXT[],
    "concurrency" INTEGER NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stopped_at" TIMESTAMP(3),

    CONSTRAINT "worker_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_token" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "dataset_name_key" ON "dataset"("name");

-- CreateIndex
CREATE INDEX "example_dataset_id_split_seq_idx" ON "example"("dataset_id", "split", "seq");

-- CreateIndex
CREATE INDEX "example_dataset_id_source_seq_idx" ON "example"("dataset_id", "source", "seq");

-- CreateIndex
CREATE INDEX "example_dataset_id_label_seq_idx" ON "example"("dataset_id", "label", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "example_dataset_id_external_id_key" ON "example"("dataset_id", "external_id");

-- CreateIndex
CREATE UNIQUE INDEX "rater_name_key" ON "rater"("name");

-- CreateIndex
CREATE UNIQUE INDEX "rater_version_rater_id_version_key" ON "rater_version"("rater_id", "version");

-- CreateIndex
CREATE INDEX "score_rater_version_id_dataset_id_score_example_seq_idx" ON "score"("rater_version_id", "dataset_id", "score", "example_seq");

-- CreateIndex
CREATE INDEX "score_example_seq_idx" ON "score"("example_seq");

-- CreateIndex
CREATE UNIQUE INDEX "curation_curated_dataset_id_key" ON "curation"("curated_dataset_id");

-- CreateIndex
CREATE INDEX "curation_member_example_seq_idx" ON "curation_member"("example_seq");

-- CreateIndex
CREATE INDEX "job_status_created_at_idx" ON "job"("status", "created_at");

-- CreateIndex
CREATE INDEX "worker_heartbeat_at_idx" ON "worker"("heartbeat_at");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_token_hash_key" ON "api_token"("token_hash");

-- AddForeignKey
ALTER TABLE "example" ADD CONSTRAINT "example_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rater_version" ADD CONSTRAINT "rater_version_rater_id_fkey" FOREIGN KEY ("rater_id") REFERENCES "rater"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rater_version" ADD CONSTRAINT "rater_version_training_dataset_id_fkey" FOREIGN KEY ("training_dataset_id") REFERENCES "dataset"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rater_version" ADD CONSTRAINT "rater_version_heldout_dataset_id_fkey" FOREIGN KEY ("heldout_dataset_id") REFERENCES "dataset"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rater_version" ADD CONSTRAINT "rater_version_parent_version_id_fkey" FOREIGN KEY ("parent_version_id") REFERENCES "rater_version"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoint" ADD CONSTRAINT "checkpoint_rater_version_id_fkey" FOREIGN KEY ("rater_version_id") REFERENCES "rater_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score" ADD CONSTRAINT "score_rater_version_id_fkey" FOREIGN KEY ("rater_version_id") REFERENCES "rater_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score" ADD CONSTRAINT "score_example_seq_fkey" FOREIGN KEY ("example_seq") REFERENCES "example"("seq") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score" ADD CONSTRAINT "score_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score_range" ADD CONSTRAINT "score_range_rater_version_id_fkey" FOREIGN KEY ("rater_version_id") REFERENCES "rater_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score_range" ADD CONSTRAINT "score_range_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score_summary" ADD CONSTRAINT "score_summary_rater_version_id_fkey" FOREIGN KEY ("rater_version_id") REFERENCES "rater_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score_summary" ADD CONSTRAINT "score_summary_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "curation" ADD CONSTRAINT "curation_source_dataset_id_fkey" FOREIGN KEY ("source_dataset_id") REFERENCES "dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "curation" ADD CONSTRAINT "curation_curated_dataset_id_fkey" FOREIGN KEY ("curated_dataset_id") REFERENCES "dataset"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "curation" ADD CONSTRAINT "curation_rater_version_id_fkey" FOREIGN KEY ("rater_version_id") REFERENCES "rater_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "curation_member" ADD CONSTRAINT "curation_member_curation_id_fkey" FOREIGN KEY ("curation_id") REFERENCES "curation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "curation_member" ADD CONSTRAINT "curation_member_example_seq_fkey" FOREIGN KEY ("example_seq") REFERENCES "example"("seq") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation" ADD CONSTRAINT "evaluation_curation_id_fkey" FOREIGN KEY ("curation_id") REFERENCES "curation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
