package main

import (
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestChainCheckRTol checks the solver tolerance of the directional
// check: fd_tol·fd_step, unless the fits' rtol is already tighter, and the
// same for the defaults and their quick shrink (which keeps fd_tol and
// fd_step), so that -quick verifies the check a full run verifies.
func TestChainCheckRTol(t *testing.T) {
	def := *runner.Defaults[chainIDConfig]("spring_chain_identification", false)
	quick := *runner.Defaults[chainIDConfig]("spring_chain_identification", true)
	if got, want := def.checkRTol(), float64(def.FDTol)*def.FDStep; got != want || got >= def.RTol {
		t.Errorf("check rtol %g, want fd_tol·fd_step = %g, below rtol %g", got, want, def.RTol)
	}
	if quick.checkRTol() != def.checkRTol() {
		t.Errorf("-quick changes the check's rtol from %g to %g", def.checkRTol(), quick.checkRTol())
	}
	def.RTol = 1e-12
	if got := def.checkRTol(); got != 1e-12 {
		t.Errorf("with rtol 1e-12 the check's rtol is %g, want 1e-12", got)
	}
}
