// Preloaded into a measured child process: at exit, writes its peak RSS (KiB) to $CONTRASTLAB_RSS_FILE.
import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  const f = process.env.CONTRASTLAB_RSS_FILE;
  if (f) writeFileSync(f, String(process.resourceUsage().maxRSS));
});
