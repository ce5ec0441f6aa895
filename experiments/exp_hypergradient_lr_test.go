package main

import "testing"

// TestHyperLRRun runs the quick configuration with a hand-made Run.
func TestHyperLRRun(t *testing.T) {
	t.Chdir(t.TempDir())
	e := registry["hypergradient_lr"]
	c := e.defaults().(*hyperLRConfig)
	e.quick(c)
	r := &Run{Seed: 3, Quick: true, Report: &Report{}}
	if err := runHyperLR(r, *c); err != nil {
		t.Fatal(err)
	}
	if s := r.Report.status(); s != statusPass {
		t.Errorf("status %s, want PASS; failed: %v", s, r.Report.failed())
	}
}
