// The goals of issue "Performance", as checks over the figures of one run.
const fmt = (n, digits = 2) => (typeof n === 'number' ? Number(n.toFixed(digits)) : 'n/a')
const verdict = (ok, text) => `${ok ? 'met' : 'MISSED'}: ${text}`

export const goals = {
  wire_bytes_per_step: {
    needs: ['wire_bytes_per_step', 'wire_bytes_per_step_seed'],
    text: '<= 2,000 B and >= 1000x smaller than the seed',
    check: (f) =>
      verdict(
        f.wire_bytes_per_step <= 2000 && f.wire_bytes_per_step_seed / f.wire_bytes_per_step >= 1000,
        `${fmt(f.wire_bytes_per_step_seed / f.wire_bytes_per_step, 0)}x smaller`,
      ),
  },
  backend_s_ours: {
    needs: ['backend_s_ours', 'backend_s_generate', 'backend_s_openmav'],
    text: 'ours / generate <= 1.1; openmav / ours >= 7',
    check: (f) =>
      verdict(
        f.backend_s_ours / f.backend_s_generate <= 1.1 && f.backend_s_openmav / f.backend_s_ours >= 7,
        `ours/generate ${fmt(f.backend_s_ours / f.backend_s_generate)}, openmav/ours ${fmt(f.backend_s_openmav / f.backend_s_ours)}`,
      ),
  },
  backend_s_detail: {
    needs: ['backend_s_detail', 'backend_s_ours'],
    text: 'detail / ours <= 1.3 (same tokens)',
    check: (f) =>
      verdict(f.backend_s_detail / f.backend_s_ours <= 1.3, `${fmt(f.backend_s_detail / f.backend_s_ours)}x`),
  },
  wire_bytes_per_step_detail: {
    needs: ['wire_bytes_per_step_detail'],
    text: '<= 24 KB with every detail on (30 layers, 9 heads)',
    check: (f) =>
      verdict(f.wire_bytes_per_step_detail <= 24 * 1024, `${fmt(f.wire_bytes_per_step_detail / 1024, 1)} KB`),
  },
  first_step_ms: {
    needs: ['first_step_ms', 'prompt_forward_ms'],
    text: '<= 1.5x one forward pass of the prompt',
    check: (f) =>
      verdict(f.first_step_ms <= 1.5 * f.prompt_forward_ms, `${fmt(f.first_step_ms / f.prompt_forward_ms)}x`),
  },
  client_events_per_s: {
    needs: ['client_events_per_s'],
    text: '>= 20,000 events/s',
    check: (f) => verdict(f.client_events_per_s >= 20000, `${fmt(f.client_events_per_s / 20000)}x the goal`),
  },
  render_p95_frame_ms: {
    needs: ['render_p95_frame_ms', 'render_p95_frame_ms_baseline'],
    text: 'p95 <= 16 ms',
    check: (f) => verdict(f.render_p95_frame_ms <= 16, `baseline ${fmt(f.render_p95_frame_ms_baseline)} ms`),
  },
  render_p95_frame_ms_80x10k: {
    needs: ['render_p95_frame_ms_80x10k', 'render_p95_frame_ms_80x10k_baseline'],
    text: 'p95 <= 16 ms replaying 80 layers x 10,000 steps',
    check: (f) =>
      verdict(f.render_p95_frame_ms_80x10k <= 16, `baseline ${fmt(f.render_p95_frame_ms_80x10k_baseline)} ms`),
  },
  page_heap_mb_80x10k: {
    needs: ['page_heap_mb_80x10k'],
    text: '<= 150 MB of JS heap with the 80 x 10,000 run shown',
    check: (f) => verdict(f.page_heap_mb_80x10k <= 150, `${fmt(f.page_heap_mb_80x10k, 1)} MB`),
  },
  scrub_p95_ms_80x10k: {
    needs: ['scrub_p95_ms_80x10k'],
    text: 'p95 <= 50 ms from a timeline seek to the step painted (80 x 10,000)',
    check: (f) => verdict(f.scrub_p95_ms_80x10k <= 50, `${fmt(f.scrub_p95_ms_80x10k, 1)} ms`),
  },
  render_p95_frame_ms_compare: {
    needs: ['render_p95_frame_ms_compare'],
    text: 'p95 <= 16 ms with two 2,000-step runs in MAVCompare',
    check: (f) => verdict(f.render_p95_frame_ms_compare <= 16, `${fmt(f.render_p95_frame_ms_compare)} ms`),
  },
  render_p95_frame_ms_detail: {
    needs: ['render_p95_frame_ms_detail'],
    text: 'p95 <= 16 ms with detail and the new panels',
    check: (f) => verdict(f.render_p95_frame_ms_detail <= 16, `${fmt(f.render_p95_frame_ms_detail)} ms`),
  },
  bundle_gzip_bytes_react: {
    needs: ['bundle_gzip_bytes_react'],
    text: '<= 40 KB gzip incl. uPlot',
    check: (f) => verdict(f.bundle_gzip_bytes_react <= 40 * 1024, `${fmt(f.bundle_gzip_bytes_react / 1024, 1)} KB`),
  },
  backend_s_numpy: {
    needs: ['backend_s_numpy', 'backend_s_ours'],
    text: '<= 1.0x ours (the torch engine), the same tokens',
    check: (f) => verdict(f.backend_s_numpy <= f.backend_s_ours, `${fmt(f.backend_s_numpy / f.backend_s_ours)}x ours`),
  },
  cold_start_s_numpy: {
    needs: ['cold_start_s_numpy'],
    text: '<= 4 s from exec to the first step (numpy engine)',
    check: (f) => verdict(f.cold_start_s_numpy <= 4, `${fmt(f.cold_start_s_numpy)} s`),
  },
  backend_rss_mb_numpy: {
    needs: ['backend_rss_mb_numpy'],
    text: '<= 900 MB with the model loaded and one run done (numpy engine)',
    check: (f) => verdict(f.backend_rss_mb_numpy <= 900, `${fmt(f.backend_rss_mb_numpy, 0)} MB`),
  },
  vercel_function_mib: {
    needs: ['vercel_function_mib'],
    text: '<= 225 MiB (bundled whole: Vercel installs nothing at cold start)',
    check: (f) => verdict(f.vercel_function_mib <= 225, `${fmt(225 - f.vercel_function_mib, 1)} MiB to spare`),
  },
  bundle_gzip_bytes_client: {
    needs: ['bundle_gzip_bytes_client'],
    text: '<= 12 KB gzip',
    check: (f) => verdict(f.bundle_gzip_bytes_client <= 12 * 1024, `${fmt(f.bundle_gzip_bytes_client / 1024, 1)} KB`),
  },
  stalled_slot_release_s: {
    needs: ['stalled_slot_release_s', 'stalled_timeout_s'],
    text: '<= the stall timeout + 1 s after a reader stops reading',
    check: (f) =>
      verdict(
        f.stalled_slot_release_s <= f.stalled_timeout_s + 1,
        `${fmt(f.stalled_slot_release_s)} s with a ${f.stalled_timeout_s} s timeout`,
      ),
  },
  soak_rss_growth_mb: {
    needs: ['soak_rss_growth_mb'],
    text: '<= 64 MB over the soak',
    check: (f) => verdict(f.soak_rss_growth_mb <= 64, `${fmt(f.soak_rss_growth_mb, 1)} MB`),
  },
  fuzz_5xx: {
    needs: ['fuzz_5xx', 'fuzz_cases'],
    text: '0 answers 5xx',
    check: (f) => verdict(f.fuzz_5xx === 0, `${f.fuzz_5xx} of ${f.fuzz_cases} cases`),
  },
  sigterm_exit_s: {
    needs: ['sigterm_exit_s', 'sigterm_shutdown_timeout_s'],
    text: '<= the shutdown timeout + 2 s with stalled readers',
    check: (f) => verdict(f.sigterm_exit_s <= f.sigterm_shutdown_timeout_s + 2, `${fmt(f.sigterm_exit_s)} s`),
  },
  standalone_html_bytes: {
    needs: ['standalone_html_bytes'],
    text: '<= 400 KB without data (one file that plays a recording offline)',
    check: (f) => verdict(f.standalone_html_bytes <= 400 * 1024, `${fmt(f.standalone_html_bytes / 1024, 1)} KB`),
  },
}
