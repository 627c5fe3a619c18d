// Generates resolver types from schema.graphql into src/generated/graphql.ts. Parents of object
// resolvers are the Prisma rows (mappers), so resolvers receive what services return.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'src/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useTypeImports: true,
        contextType: '../graphql/context.js#GraphQLContext',
        enumsAsTypes: true,
        useIndexSignature: false,
        scalars: { DateTime: 'Date', JSON: 'unknown', ID: 'string' },
        mappers: {
          Dataset: '../generated/prisma/client.js#Dataset as DatasetRow',
          Example: '../generated/prisma/client.js#Example as ExampleRow',
          Rater: '../generated/prisma/client.js#Rater as RaterRow',
          RaterVersion: '../generated/prisma/client.js#RaterVersion as RaterVersionRow',
          Curation: '../generated/prisma/client.js#Curation as CurationRow',
          Evaluation: '../generated/prisma/client.js#Evaluation as EvaluationRow',
          Job: '../generated/prisma/client.js#Job as JobRow',
          ApiToken: '../generated/prisma/client.js#ApiToken as ApiTokenRow',
          ScoreSummary: '../generated/prisma/client.js#ScoreSummary as ScoreSummaryRow',
          ScoreAnalytics: '../services/analytics.js#ScoreAnalytics as ScoreAnalyticsModel',
          GroupScoreStats: '../services/analytics.js#GroupAnalytics as GroupAnalyticsModel',
          RaterComparison:
            '../services/rater-comparison.js#RaterComparison as RaterComparisonModel',
          RaterReport: '../services/rater-report.js#RaterReport as RaterReportModel',
        },
      },
    },
  },
};

export default config;
