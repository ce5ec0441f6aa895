package main

import "testing"

// TestUnrollLengthRun runs the quick configuration with a hand-made Run.
func TestUnrollLengthRun(t *testing.T) {
	t.Chdir(t.TempDir())
	e := registry["unroll_length"]
	c := e.defaults().(*unrollLengthConfig)
	e.quick(c)
	r := &Run{Seed: 3, Quick: true, Report: &Report{}}
	if err := runUnrollLength(r, *c); err != nil {
		t.Fatal(err)
	}
	if s := r.Report.status(); s != statusPass {
		t.Errorf("status %s, want PASS; failed: %v", s, r.Report.failed())
	}
}
