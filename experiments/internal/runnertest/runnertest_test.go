package runnertest

import "testing"

// TestStripTimings checks that only the Timings section is removed.
func TestStripTimings(t *testing.T) {
	cases := map[string]string{
		"# T\n\n## Metrics\n\nm\n\n## Timings\n\n| total | 1.2 |\n\n## Verification\n\nok\n": "# T\n\n## Metrics\n\nm\n\n## Verification\n\nok\n",
		"# T\n\n## Timings\n\n| total | 1.2 |\n":                                             "# T\n\n",
		"# T\n\n## Verification\n\nok\n":                                                     "# T\n\n## Verification\n\nok\n",
	}
	for in, want := range cases {
		if got := StripTimings(in); got != want {
			t.Errorf("StripTimings(%q) = %q, want %q", in, got, want)
		}
	}
}
