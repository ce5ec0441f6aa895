// Package metalearn differentiates through learning: unrolled inner loops
// of gradient descent, MAML and its relatives, hypergradients of
// hyperparameters, and implicit meta-gradients.
//
// # Differentiable inner loops
//
// An Optimizer (SGD with momentum and weight decay, Adam) is an update rule
// written with the adjoint core's operations, its hyperparameters (Hyper:
// a learning rate that may vary per step or per parameter tensor, momentum,
// weight decay) being differentiable values. Unroll runs the inner loop
// and returns the final parameters as one recorded graph, differentiable
// exactly, to every order, with respect to the initial parameters and the
// hyperparameters; the inner gradients are taken with adjoint.GradGraph,
// so the Hessian terms of the meta-gradient are exact. The FirstOrder
// switch drops them.
//
// UnrollGrad computes the same gradients through the adjoint-state engine,
// adjoint.Recurrence: the state packs the parameters and the optimiser's
// moments with an adjoint.Layout, the hyperparameters are the engine's θ,
// and a checkpointing policy (adjoint.Every, adjoint.Binomial) keeps memory
// bounded for unrolls of thousands of steps. Truncate differentiates through
// the last K steps only.
//
// # Meta-learning
//
// A Task gives an inner (support) and an outer (query) loss as functions of
// the parameter values; Supervised builds one from a Model (any nn.Layer),
// a loss and two batches. MAML computes the meta-gradient of the mean outer
// loss after adaptation, second order or first order (FOMAML); Reptile the
// Reptile update direction; IMAML the implicit meta-gradient of the
// proximally regularised inner problem by conjugate gradients on
// Hessian-vector products (adjoint.ImplicitVJP), in memory independent of
// the number of inner steps. Adapt runs plain gradient descent for
// evaluation.
//
// # Hyperparameter optimisation
//
// OptimizeHyper tunes hyperparameters by hypergradient descent: the
// gradient of a validation loss through a whole training run.
//
// # Conventions
//
// Nil *Settings mean defaults. Programmer misuse (mismatched shapes,
// non-positive step sizes) panics with a "metalearn: " message; numerical
// failure (a non-finite loss, a CG solve that does not converge) is a
// returned error wrapping adjoint.ErrNonFinite or adjoint.ErrNotConverged.
package metalearn
