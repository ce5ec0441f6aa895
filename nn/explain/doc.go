// Package explain attributes a model's output to its input features and
// perturbs inputs adversarially, all from input gradients computed by the
// adjoint core.
//
// # Attributions
//
// A Score maps a batch of inputs to one number per input, such as a
// class's logit (Logit) or probability (Probability). For a batch x the
// package computes, per input:
//
//   - Gradient: the vanilla gradient ∂f/∂x (saliency);
//   - GradientTimesInput: x ⊙ ∂f/∂x;
//   - IntegratedGradients: (x − x′) ⊙ ∫₀¹ ∂f(x′ + α(x − x′))/∂x dα, from a
//     baseline x′, with the integral taken by a quadrature Rule (the
//     left, right and middle Riemann sums, the trapezoid rule or
//     Gauss–Legendre, as in Captum), and the completeness gap
//     |Σ attributions − (f(x) − f(x′))| of each input, which measures the
//     quadrature's error;
//   - SmoothGrad: the mean gradient over Gaussian-noised copies;
//   - Occlusion: the drop of the score when patches are covered, a
//     reference that uses no gradient at all.
//
// # Sanity checks
//
// Adebayo et al. (2018) showed that some attribution methods barely
// depend on the model. Layers and Randomized implement their cascading
// randomisation (replace the weights of the top layers by random ones,
// layer by layer, through model.Apply, never changing the model), and
// Spearman measures how much a map still resembles the trained model's.
// DeletionCurve and InsertionCurve (Petsiuk et al. 2018) remove or insert
// input elements in the order of an attribution (Order) and follow the
// score; AUC gives the area under such a curve.
//
// # Adversarial perturbations
//
// A Loss maps a batch to the sum of its losses (CrossEntropyLoss);
// InputGradient gives each input's gradient. FGSM takes one signed (L∞)
// or normalised (L2) gradient step of size ε; PGD iterates smaller steps,
// each followed by Project onto the ε-ball around the input and the box
// of valid values, optionally from a random start. Perturbation reports
// what an attack did: each input's perturbation norm and whether it
// stayed in the box.
//
// Rows of a batch must not interact (no batch normalisation in training
// mode), since every function here takes each input's gradient from the
// gradient of the batch's summed score or loss.
package explain
