// Prometheus text format: label-value and HELP escaping, one HELP/TYPE per family.
#include "ringlb/admin/exposition.h"

#include <gtest/gtest.h>

namespace ringlb::admin {
namespace {

TEST(Exposition, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value(R"(a"b)"), R"(a\"b)");
  EXPECT_EQ(escape_label_value(R"(a\b)"), R"(a\\b)");
  EXPECT_EQ(escape_label_value("a\nb"), R"(a\nb)");
  EXPECT_EQ(escape_label_value("[::1]:80"), "[::1]:80");
}

TEST(Exposition, EscapesHelpButNotQuotes) {
  EXPECT_EQ(escape_help("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
}

TEST(Exposition, FamilyHeaderOncePerFamily) {
  Exposition out;
  out.family("x_total", MetricType::counter, "an x");
  out.sample("x_total", "reason=\"a\"", 1);
  out.family("x_total", MetricType::counter, "an x");
  out.sample("x_total", "reason=\"b\"", 2);
  out.family("y", MetricType::gauge, "a y");
  out.sample("y", "", 7);
  EXPECT_EQ(out.text(),
            "# HELP ringlb_x_total an x\n# TYPE ringlb_x_total counter\n"
            "ringlb_x_total{reason=\"a\"} 1\nringlb_x_total{reason=\"b\"} 2\n"
            "# HELP ringlb_y a y\n# TYPE ringlb_y gauge\nringlb_y 7\n");
}

TEST(Exposition, AddLabelEscapesAndSeparates) {
  std::string labels;
  add_label(labels, "pool", "p");
  add_label(labels, "backend", "we\"ird");
  EXPECT_EQ(labels, R"(pool="p",backend="we\"ird")");
}

}  // namespace
}  // namespace ringlb::admin
