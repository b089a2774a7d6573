# Reference for the did row (tests/stats/test_group_time.py): the two-by-two DiD of change from
# baseline among people with no session by their baseline survey, lm + clubSandwich CR2
# (one row per person) with Satterthwaite df. Input: the reference panel written as CSV
# (person, wave_index, participant, sessions, cbi_work, site).
library(clubSandwich)
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
base <- d[d$wave_index == 0, ]
eligible <- base$person[base$sessions == 0]
for (w in 1:3) {
  f <- d[d$wave_index == w & d$person %in% eligible, ]
  b <- base[match(f$person, base$person), ]
  f$change <- f$cbi_work - b$cbi_work
  f$group <- as.numeric(f$participant == "True")
  fit <- lm(change ~ group, data = f)
  ct <- coef_test(fit, vcov = "CR2", cluster = f$person, test = "Satterthwaite")
  cat(sprintf("%d: (%.12f, %.12f, %.10f),\n", w, coef(fit)["group"], ct$SE[2], ct$df_Satt[2]))
}
