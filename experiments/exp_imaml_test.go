package main

import "testing"

// TestIMAMLRun runs the quick configuration with a hand-made Run.
func TestIMAMLRun(t *testing.T) {
	t.Chdir(t.TempDir())
	e := registry["imaml"]
	c := e.defaults().(*imamlConfig)
	e.quick(c)
	r := &Run{Seed: 3, Quick: true, Report: &Report{}}
	if err := runIMAML(r, *c); err != nil {
		t.Fatal(err)
	}
	if s := r.Report.status(); s != statusPass {
		t.Errorf("status %s, want PASS; failed: %v", s, r.Report.failed())
	}
}
