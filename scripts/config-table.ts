// Prints README's configuration table from src/config.ts, the one list of variables.
// Usage: node --import tsx scripts/config-table.ts > /tmp/table && (paste between the config-table markers)
import { settings } from '../src/config.js';

const escape = (text: string) => text.replace(/\|/g, '\\|');
console.log('| Variable | Default | Meaning |');
console.log('| --- | --- | --- |');
for (const s of settings) console.log(`| \`${s.variable}\` | ${escape(s.default)} | ${escape(s.meaning)} |`);
