/** The data every variant serves and every cache stores: a settings-like object of about 1.1 KB as JSON. */
export const BENCH_PAYLOAD = {
  settings: Array.from({ length: 20 }, (_, index) => ({ name: `setting_${index}`, value: `value-${index}`, enabled: index % 2 === 0 })),
};
