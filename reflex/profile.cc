#include "reflex/profile.h"

namespace reflex {

std::string_view ProfileName(Profile profile) {
  return profile == Profile::kV1Compat ? "v1-compat" : "v2";
}

bool ProfileFromName(std::string_view name, Profile* out) {
  for (Profile p : {Profile::kV1Compat, Profile::kV2}) {
    if (ProfileName(p) == name) {
      *out = p;
      return true;
    }
  }
  return false;
}

}  // namespace reflex
