package ode

import "fmt"

// Stats counts the work of a solve or of one phase of a sensitivity
// computation.
type Stats struct {
	// Steps is the number of accepted steps and Rejected the number of
	// rejected step attempts.
	Steps, Rejected int
	// FEvals counts evaluations of the right-hand side f, including those
	// made for finite-difference derivatives.
	FEvals int
	// VJPs and JVPs count vector-Jacobian and Jacobian-vector products of
	// f (directional second derivatives count as one each when exact, as
	// their finite-difference evaluations otherwise).
	VJPs, JVPs int
	// JacEvals counts dense Jacobians ∂f/∂y formed for an implicit
	// method, and LUs the LU factorisations of its iteration matrices.
	JacEvals, LUs int
	// PeakStored is the largest number of state-length vectors held at
	// once for later use: checkpoints, dense-output records (counted by
	// their vectors) and stored trajectory states.
	PeakStored int
}

// String summarises the counters on one line.
func (s Stats) String() string {
	return fmt.Sprintf("steps %d (rejected %d), f %d, VJP %d, JVP %d, Jacobians %d, LU %d, peak stored %d",
		s.Steps, s.Rejected, s.FEvals, s.VJPs, s.JVPs, s.JacEvals, s.LUs, s.PeakStored)
}
