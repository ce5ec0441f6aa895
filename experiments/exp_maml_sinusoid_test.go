package main

import "testing"

// TestMAMLSinusoidRun runs the quick configuration with a hand-made Run.
func TestMAMLSinusoidRun(t *testing.T) {
	t.Chdir(t.TempDir())
	e := registry["maml_sinusoid"]
	c := e.defaults().(*mamlSinusoidConfig)
	e.quick(c)
	r := &Run{Seed: 3, Quick: true, Report: &Report{}}
	if err := runMAMLSinusoid(r, *c); err != nil {
		t.Fatal(err)
	}
	if s := r.Report.status(); s != statusPass {
		t.Errorf("status %s, want PASS; failed: %v", s, r.Report.failed())
	}
}
