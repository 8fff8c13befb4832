// The soak benchmark's busy Node.js program: calls work() every 2 ms and prints now and then, until killed.
// Started with --expose-gc by the benchmark: on SIGUSR2 it collects its garbage and prints its live heap
// ("heap USED TOTAL"), so that each sample of the benchmark is taken right after a full collection.

let i = 0;
const gc = (globalThis as { gc?: () => void }).gc;

export function work(n: number): number {
  const x = n * 2; // @work
  return x;
}

setInterval(() => {
  work(i);
  i++;
  if (i % 500 === 0) console.log('tick', i);
}, 2);

process.on('SIGUSR2', () => {
  gc?.();
  const { heapUsed, heapTotal } = process.memoryUsage();
  console.log('heap', heapUsed, heapTotal);
});
