// Properties that must reach the event they are named for. A RapidCheck property whose cases
// rarely strike a fault, lose power mid-apply or commit entries tests little while it passes;
// RC_GTEST_PROP would never say so. RC_REACHING_PROP runs the property as a Google Test with a
// given number of cases and fails it when fewer than a given share of its cases classified
// themselves with the event (RC_CLASSIFY(condition, "event") in the body):
//
//   RC_REACHING_PROP(WalProperty, TornWritesLoseNothing, "a crash tore a write", 0.5, 200, ()) {
//     ...
//     RC_CLASSIFY(torn, "a crash tore a write");
//   }
//
// `cases` replaces RapidCheck's default of 100 (cheap properties get more), unless RC_PARAMS
// sets max_success, which wins. Its cases are drawn at full size: RapidCheck otherwise grows the
// size from 0 over a run, and gen::inRange scales with it, so half of a run's draws crowd at the
// low end of their ranges (few operations, the lowest fault rate, the first crash time) — which
// is how a property comes to rarely reach its event. A failing case still shrinks, reports, and
// reproduces with RC_PARAMS="reproduce=...", as any RapidCheck property does.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/detail/Configuration.h>
#include <rapidcheck/detail/Property.h>
#include <rapidcheck/detail/Results.h>
#include <rapidcheck/detail/TestListener.h>

#include <algorithm>
#include <sstream>
#include <string>

namespace cairn::testing {

class QuietTestListener final : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
};

// The share of `success`'s cases tagged with `event` (RapidCheck keeps a string tag as it shows
// it: quoted).
inline double share_reaching(const rc::detail::SuccessResult& success, const std::string& event) {
  int reaching = 0;
  const std::string shown = "\"" + event + "\"";
  for (const auto& [tags, count] : success.distribution) {
    if (std::find(tags.begin(), tags.end(), shown) != tags.end() ||
        std::find(tags.begin(), tags.end(), event) != tags.end()) {
      reaching += count;
    }
  }
  return success.numSuccess == 0 ? 0.0 : static_cast<double>(reaching) / success.numSuccess;
}

// RapidCheck's largest default size: at it, gen::inRange is uniform over its whole range.
inline constexpr int kFullSize = 100;

template <typename Testable>
void check_reaching_property(Testable&& testable, const std::string& event, double minimum_share, int cases,
                             bool full_size) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
  metadata.description = info->name();
  const rc::detail::Configuration& configuration = rc::detail::configuration();
  rc::detail::TestParams params = configuration.testParams;
  if (params.maxSuccess == rc::detail::TestParams().maxSuccess) params.maxSuccess = cases;
  QuietTestListener listener;
  rc::detail::Property property = rc::detail::toProperty(std::forward<Testable>(testable));
  if (full_size) property = rc::gen::resize(kFullSize, std::move(property));
  const rc::detail::TestResult result =
      rc::detail::checkProperty(property, metadata, params, listener, configuration.reproduce);
  std::ostringstream message;
  rc::detail::printResultMessage(result, message);
  if (!result.template is<rc::detail::SuccessResult>()) {
    FAIL() << message.str();
    return;
  }
  std::cout << message.str() << std::endl;
  const double share = share_reaching(result.template get<rc::detail::SuccessResult>(), event);
  EXPECT_GE(share, minimum_share) << "only " << share * 100 << "% of the cases reached \"" << event
                                  << "\": the property barely tests what it is named for";
}

}  // namespace cairn::testing

#define RC_REACHING_PROP(TestCase, Name, Event, MinimumShare, Cases, ArgList)                             \
  void rapidCheck_reachingImpl_##TestCase##_##Name ArgList;                                              \
  TEST(TestCase, Name) {                                                                                  \
    ::cairn::testing::check_reaching_property(&rapidCheck_reachingImpl_##TestCase##_##Name, Event,       \
                                              MinimumShare, Cases, /*full_size=*/true);                   \
  }                                                                                                       \
  void rapidCheck_reachingImpl_##TestCase##_##Name ArgList

// A property with more (or fewer) cases than RapidCheck's default, for cheap properties.
#define RC_GTEST_PROP_CASES(TestCase, Name, Cases, ArgList)                                                   \
  void rapidCheck_casesImpl_##TestCase##_##Name ArgList;                                                   \
  TEST(TestCase, Name) {                                                                                    \
    ::cairn::testing::check_reaching_property(&rapidCheck_casesImpl_##TestCase##_##Name, "", 0.0, Cases,  \
                                              /*full_size=*/false);                                        \
  }                                                                                                         \
  void rapidCheck_casesImpl_##TestCase##_##Name ArgList
