// Package nn builds neural networks on the adjoint core: layers, losses,
// initialisers, optimisers, parameter files and a training loop that
// records how gradients flow.
//
// # Layers and models
//
// A Layer maps a batch (the batch size is always the leading dimension) to
// a batch. The package provides Linear, the convolutions Conv1D, Conv2D
// and ConvTranspose2D (NCHW; per-axis stride, padding in PyTorch's four
// modes, dilation, groups and depthwise, output padding, optional bias),
// the pools MaxPool2D and AvgPool2D (any window, padding, ceil mode) and
// AdaptiveAvgPool2D and AdaptiveMaxPool2D, Flatten, Embedding, the
// activations ReLU, Tanh,
// Sigmoid, GELU, Softplus and Identity, the normalisations LayerNorm (over
// any trailing dimensions), GroupNorm and BatchNorm1D/BatchNorm2D (batch
// statistics and running averages in training, the averages in
// evaluation), Dropout, the recurrent RNN, GRU and LSTM (stacked, with
// dropout between layers, bidirectional, from an initial State to a final
// one) with LastStep, and
// the containers Sequential and Residual:
//
//	rng := rand.New(rand.NewPCG(1, 2))
//	model := nn.NewSequential([]int{784},
//		nn.NewLinear(rng, 784, 256, nn.HeNormal(1)), nn.ReLU(),
//		nn.NewLinear(rng, 256, 10, nil))
//	logits := model.Forward(adjoint.Const(x))
//
// NewSequential checks at construction that each layer accepts the
// previous one's output and panics, naming the layer and the shapes, if
// not; a layer applied to an input it cannot take panics with its name
// too. These are programming errors. Numerical failure (a NaN loss) and bad
// files are returned errors.
//
// Every layer is written with the core's differentiable operations (a
// convolution is one bilinear operation of the images and the kernel,
// computed by unfolding patches straight into the packed panels of the
// module's matrix-product kernel; max pooling a Take of each window's
// maximum; average pooling a bilinear window sum), so gradients of models
// are exact to every order: Hessian-vector products and meta-gradients
// through a training step need nothing special.
//
// # Parameters and functional application
//
// A model's parameters are named and ordered deterministically
// ("layer0.weight", "layer0.bias", …); each is a differentiable leaf
// (adjoint.Param) over a tensor that the model owns. Forward evaluates a
// model with these leaves, so adjoint.Grad(loss, nn.Vars(model)...) gives
// the gradient of every parameter; Predict evaluates it on constants,
// recording no graph.
//
// Apply evaluates a model with explicitly given parameter values, one per
// parameter in the same order, and does not touch the model. This is how
// meta-learning evaluates fast weights θ' = θ − α∇L(θ) computed with
// adjoint.GradGraph: model.Apply(θ', x) depends on θ through θ', and its
// gradient with respect to θ is the exact meta-gradient.
//
// # Training and gradient flow
//
// A Trainer runs an Objective (the loss as a function of the parameter
// values) with an Optimizer (SGD with momentum, Adam), optional clipping
// by global norm, and a Recorder that receives every step's loss, per-layer
// gradient norms, per-layer ‖Δθ‖/‖θ‖ and, for recurrent models, ‖dL/dh_t‖
// per time step. History is a Recorder that keeps these as plain slices for
// plotting. LayerGradNorms and HiddenGradNorms give the same profiles for a
// single gradient, without training.
//
// Per-layer gradient flow has one source: a record of the reverse pass
// (adjoint.Flow), which LayerFlows summarises per layer — ‖∂L/∂θ‖, and,
// when the model is applied to an input in a scope, the cotangent at the
// layer's output, the one it passes back to its input, and their ratio,
// the layer's gain. The Trainer records its per-layer statistics from it.
// Sequential gives each layer a scope "layer<i>" inside the scope of its
// input (and Residual its branch a scope "branch"), so that
//
//	y := model.Apply(ps, adjoint.InScope(adjoint.NewScope("model"), x))
//
// records a graph that adjoint.Flow.Fold draws layer by layer; an
// unscoped input adds nothing to the graph.
//
// Initialisers (GlorotUniform, GlorotNormal, HeUniform, HeNormal,
// Orthogonal, Normal) take a scale factor and draw from a *rand.Rand passed
// explicitly: the package keeps no global random state, so a seed fixes a
// run. The default is GlorotUniform(1) with zero biases; TorchDefault()
// draws weights and biases as PyTorch's Linear and convolutions do, and
// TorchRNNDefault() as its recurrent layers do.
//
// # Losses, optimisers and schedules
//
// MSE, BCEWithLogits and SoftmaxCrossEntropy are the basic losses
// (BCEWithLogitsLoss adds weights, positive weights and reductions); Huber,
// SmoothL1, NLL, CrossEntropy (class weights, ignored labels, label
// smoothing, per-position labels), CrossEntropySoft, BCE on probabilities
// and KLDiv follow torch.nn.functional exactly, including the reductions
// (a Reduction: mean, sum, none, batchmean) and their denominators.
// A variational autoencoder is two ordinary models plus a loss:
// Reparameterize draws the latent sample as a differentiable function of
// the encoder's mean and log-variance, GaussianKL is the divergence term
// of the evidence lower bound in closed form, and GaussianLogDensity the
// log-density whose gradient the score-function estimator weights. The
// optimisers are SGD (momentum, Nesterov, L2 decay) and Adam, whose two
// weight decays are named apart: L2 (coupled, PyTorch's Adam) and
// DecoupledDecay (AdamW, NewAdamW). Scheduled drives either through a
// Schedule (StepDecay, ExponentialDecay, WarmupCosine, OneCycle, which can
// cycle the momentum too);
// ClipGlobalNorm and Trainer.ClipNorm clip by the global norm.
//
// # Coming from PyTorch
//
// LoadTorch reads a PyTorch state_dict saved as safetensors (package
// nn/safetensors reads and writes the format) into a model built from the
// corresponding layers, converting layouts: Linear's weight is [in, out]
// here and [out, in] there, the recurrent weights likewise, and PyTorch's
// two RNN/LSTM biases are one here; convolution weights have PyTorch's
// layouts ([out, in/groups, k…], and [in, out/groups, k…] for the
// transposed convolution). SaveTorch writes the other way, so
// that model.load_state_dict in PyTorch accepts the file. Keys default to
// those of nested torch.nn.Sequential containers and can be renamed
// (TorchSettings.Rename). Every tensor is checked (present, expected,
// shape, dtype) before any is written, so a failed load leaves the model
// unchanged. The tests reproduce PyTorch 1.13's outputs, gradients,
// optimiser trajectories and learning rates to about 1e-15.
//
// Layers are immutable once built (apart from the training switch of
// Dropout, BatchNorm and the recurrent layers, the random streams of
// dropout and BatchNorm's running averages), so a model may be applied
// from several goroutines at once, except for Dropout, BatchNorm and
// recurrent layers with dropout in training mode. Optimisers and
// Trainers hold state and are not safe for concurrent use.
//
// Save and Load store parameters in a small documented binary format
// (atomic writes; mismatched names or shapes are returned errors); pass
// append(m.Params(), nn.Buffers(m)...) to include running statistics.
package nn
