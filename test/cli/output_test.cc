#include "cli/output.h"

#include <gtest/gtest.h>

namespace forge::cli {
namespace {

TEST(TableTest, AlignsColumnsUnderUpperCaseHeaders) {
  Table table({"key", "value"});
  table.addRow({"server.port", "8000"});
  table.addRow({"data_dir", "./data"});
  EXPECT_EQ(table.render(), "KEY          VALUE\n"
                            "server.port  8000\n"
                            "data_dir     ./data\n");
}

} // namespace
} // namespace forge::cli
