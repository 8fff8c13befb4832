// The soak benchmark's busy Node.js program: calls work() every 2 ms and prints now and then, until killed.

let i = 0;

export function work(n: number): number {
  const x = n * 2; // @work
  return x;
}

setInterval(() => {
  work(i);
  i++;
  if (i % 500 === 0) {
    console.log('tick', i);
    // started with --expose-gc by the benchmark: collect now and then, so resident memory follows live memory
    (globalThis as { gc?: () => void }).gc?.();
  }
}, 2);
