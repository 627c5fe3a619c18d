// Prisma CLI configuration.
//
// Version pins, and why (all of them so that nothing is downloaded at install or run time):
// - prisma and @prisma/client 6.19.x: Prisma 7's CLI fetches a native schema-engine binary from
//   the internet. 6.19 runs migrations with its wasm schema engine when `engine: 'js'` and an
//   adapter are configured here.
// - @prisma/adapter-pg 7.x: 6.19's own adapter fails on Postgres `name` columns, which the wasm
//   schema engine reads while introspecting; the 7.x adapter works with the 6.19 engine.
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  experimental: { adapter: true },
  engine: 'js',
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (!url) {
      throw new Error(
        'DATABASE_URL is not set. The Prisma CLI needs a Postgres URL, for example ' +
          'DATABASE_URL=postgres://postgres@127.0.0.1:5432/test',
      );
    }
    return new PrismaPg({ connectionString: url });
  },
});
