// Package adjoint computes exact derivatives of numerical programs by the
// adjoint-state method.
//
// # Two levels
//
// Flat functions on []float64 (the Func interface, with the optional JVPer)
// serve hot paths and user-supplied models such as ODE right-hand sides.
//
// Traced tensor programs are ordinary Go code written with this package's
// operations on *Var values. A Var holds a Tensor (dense, row-major float64)
// and, when it depends on a differentiable leaf made by Param, the operation
// that produced it. Running the code records the graph (define-by-run):
//
//	x := adjoint.Param(t)
//	y := adjoint.Mean(adjoint.Tanh(adjoint.MatMul(x, w)))
//	g := adjoint.Grad(y, x)[0]                  // reverse mode
//	_, yd := adjoint.JVP(f, t, v)                // forward mode
//	h := adjoint.HVP(f, t, v)                    // Hessian-vector product
//
// # Exact to any order
//
// Each primitive keeps its forward computation, its VJP rule and its JVP
// rule side by side, and both rules are written with the package's own
// differentiable operations. With GradGraph (or GradSettings.CreateGraph)
// the backward pass is itself recorded, so a gradient can be differentiated
// again: Hessians, Hessian-vector products (HVP: forward-over-reverse;
// HVPRev: reverse-over-reverse) and MAML-style meta-gradients are exact, not
// finite-difference approximations.
//
// HVPArgs and HessianArgs do the same for functions of several arguments,
// mixed blocks included.
//
// # Derivatives exist only with respect to tracked values
//
// Grad, Backward, VJP and Tangent differentiate with respect to tracked
// values: Params and anything computed from one. Asking for the derivative
// with respect to a constant (Const, Detach, or a value computed from
// constants only) panics with an "adjoint: " message, since the graph does
// not say what the constant depends on and zeros would be silently wrong. A
// tracked value that the output does not depend on gets zeros.
//
// # No-graph mode
//
// An operation whose inputs are all constants (Const, Detach) records
// nothing and keeps no reference to its inputs, so inference code run on
// constants retains no graph and allocates no input lists.
//
// # Custom derivatives and the bridge to flat code
//
// Apply uses a Func with a hand-written VJP as a single operation inside a
// trace; ApplyBilinear uses a bilinear map given by its forward and its
// two adjoints (a convolution of images with kernels, say) as one
// operation whose derivatives of every order are exact. Custom adds an
// operation defined in another package (a Primitive) whose derivative
// rules are themselves traced, so that it stays differentiable to every
// order; package ode's ODE solve is one.
//
// In the other direction, Record runs a traced program on flat arguments
// and answers its VJP, JVP and (through Recording.Tangent) second
// derivatives as flat vectors, and Layout.Vars and Layout.Join convert
// between a flat state and the tensors it packs. TracedFunc, TracedStep and
// TracedLoss are built on them, as are ode.Traced and the unrolled steps of
// packages metalearn and nn.
//
// # Seeing the flow
//
// GradSettings.Flow asks a reverse pass for a record of itself (Flow): for
// every value, its operation, shape, norm and the norm of its cotangent,
// and for every operation the norm of what it passed back to each input
// and the local gain, that norm over its own cotangent's. Scopes make such
// a record readable: InScope(s, x) puts x in a Scope (NewScope, Child), and
// every operation's result takes the innermost scope of its inputs, so a
// layer's operations land in the layer's scope without any global state
// ("current scope") — the scope travels with the values, and a program
// that never calls InScope carries none. Flow.Fold merges each scope of a
// chosen depth into one unit, turning a thousand operations into a graph
// of named blocks with the cotangent norm at each block's outputs and the
// gain along each edge; package plots draws it. Without the setting the
// pass records nothing and costs nothing.
//
// # Speed
//
// Matrix products (MatMul, MatMulT, MatMulAdd) and the elementwise
// functions run on the module's own kernels: a blocked GEMM with AVX-512
// or AVX2+FMA micro-kernels chosen from the CPU's features (portable Go
// elsewhere, or with the purego build tag), bit-identical for every
// GOMAXPROCS. A reverse pass without CreateGraph adds repeated
// contributions into buffers of its own instead of allocating a sum each
// time; it never shares them with anything the caller sees.
//
// # The adjoint-state engine
//
// Recurrence differentiates x_{k+1} = step(k, x_k, θ) with per-step and
// terminal losses by the discrete adjoint recurrence — backpropagation
// through time for RNN cells, ODE solver steps and optimiser updates alike.
// A Policy chooses what is stored and what recomputed: StoreAll, Every(k),
// or Binomial(s), Griewank–Walther's revolve schedule, which needs the
// fewest recomputations for s stored states. Steps are flat (Step, with a
// hand-written VJP) or traced (TracedStep, re-traced one step at a time);
// a Layout packs several tensors into the flat state.
//
// ImplicitVJP differentiates through a solved equation F(u, θ) = 0 (steady
// states, fixed points, converged inner optimisations) with one adjoint
// solve, by dense LU (gonum) or matrix-free GMRES or CG.
//
// # Verification
//
// Check compares reverse mode, forward mode and central finite differences
// (gonum's diff/fd), first and second order, and reports the largest
// errors. The package's own tests run it on every primitive.
//
// # Conventions
//
// Operations broadcast under NumPy rules. Shape misuse panics with an
// "adjoint: " message. Operations never modify their inputs; tensors passed
// to Param, Const and FromData are shared, not copied, and must not be
// modified while in use.
package adjoint
