# Reference values for analysis/stats/meta.py from R's metafor (run once; tests store them).
#
#   Rscript tooling/metafor_reference.R IN.json > OUT.json
#
# IN.json: {"name": {"yi": [...], "sei": [...], "mods": {"col": [...]} (optional)}, ...}
# OUT.json: per data set and method (REML and DL with test = "knha", FE with test = "z"):
# rma() and predict() numbers, leave1out() (REML), regtest() when k >= 10, and for data sets
# with "mods" the meta-regression rma(yi, sei, mods = ~ ., method = "REML", test = "knha").
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
sets <- fromJSON(args[1], simplifyVector = TRUE)
fit_summary <- function(fit) {
  p <- predict(fit)
  list(estimate = c(fit$b)[1], std_error = fit$se[1], ci_low = fit$ci.lb[1],
       ci_high = fit$ci.ub[1], p_value = fit$pval[1], tau2 = fit$tau2, i2 = fit$I2,
       h2 = fit$H2, q = fit$QE, q_p_value = fit$QEp, pi_low = p$pi.lb, pi_high = p$pi.ub)
}
out <- list()
for (name in names(sets)) {
  d <- sets[[name]]
  res <- list()
  fits <- list(REML = rma(d$yi, sei = d$sei, method = "REML", test = "knha"),
               DL = rma(d$yi, sei = d$sei, method = "DL", test = "knha"),
               FE = rma(d$yi, sei = d$sei, method = "FE", test = "z"))
  for (m in names(fits)) res[[m]] <- fit_summary(fits[[m]])
  if (length(d$yi) >= 3) {
    l1 <- leave1out(fits$REML)
    res$leave1out <- list(estimate = l1$estimate, std_error = l1$se, tau2 = l1$tau2,
                          i2 = l1$I2, q = l1$Q)
  }
  if (length(d$yi) >= 10) {
    eg <- regtest(fits$REML)
    res$egger <- list(statistic = eg$zval, p_value = eg$pval, limit_estimate = eg$est,
                      limit_ci_low = eg$ci.lb, limit_ci_high = eg$ci.ub)
  }
  if (!is.null(d$mods)) {
    mods <- as.data.frame(d$mods)
    mr <- rma(d$yi, sei = d$sei, mods = ~ ., data = mods, method = "REML", test = "knha")
    res$metareg <- list(coefficients = c(mr$b), std_errors = mr$se, statistics = mr$zval,
                        p_values = mr$pval, ci_low = mr$ci.lb, ci_high = mr$ci.ub,
                        tau2 = mr$tau2, i2 = mr$I2, qe = mr$QE, qe_p_value = mr$QEp,
                        qm = mr$QM, qm_p_value = mr$QMp, r2 = mr$R2, terms = rownames(mr$b))
  }
  out[[name]] <- res
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE))
