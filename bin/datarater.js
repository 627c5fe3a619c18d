#!/usr/bin/env node
// Runs the TypeScript CLI (src/main.ts) through tsx, so the package needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
