// Opening files and folders beneath one folder (the inbox) so that nothing
// outside it is ever opened, however its entries are renamed or replaced by
// symbolic links meanwhile.
//
// Contract:
// - Every path is resolved by the kernel relative to a descriptor of the
//   root folder, in one step (openat2 with RESOLVE_BENEATH): a path that
//   would leave the root at any moment of the resolution fails instead of
//   opening what lies outside. There is no check-then-open window.
// - open_beneath() follows symbolic links as long as they stay beneath the
//   root. A link whose target is an absolute path under `root_path` (how
//   `ln -s /srv/inbox/a.csv` writes it) is followed as that path relative to
//   the root, again beneath it. Only a link in the last name is rewritten
//   so: a path through an absolute link to a folder, even one under the
//   root (`sub -> /srv/inbox/real`), is refused (kInvalidInput), as the
//   inbox scan and the archive never follow folder links either. Where the
//   kernel lacks openat2 (before Linux 5.6), no link is followed at all.
// - open_dir_beneath() walks a folder path one name at a time and never
//   follows a symbolic link (O_NOFOLLOW | O_DIRECTORY at each step), so a
//   link inside the root cannot send it elsewhere either; with `create`, the
//   missing folders are made (mkdirat), and each new entry is synced.
// - Errors: kInvalidInput when the path leaves the root or meets a link it
//   must not follow (the message says which), kNotFound when a name is
//   missing, kPermission, kIo otherwise. Messages name only `relative`, never
//   the root's absolute path (they may reach a client). Blocking system
//   calls; callable from any thread; nothing throws.
#pragma once

#include <filesystem>
#include <string>

#include "base/result.hpp"
#include "os/unique_fd.hpp"

namespace stockwatch {

// A descriptor of the folder `root` itself (O_PATH | O_DIRECTORY), to open
// beneath.
[[nodiscard]] Result<UniqueFd> open_root(const std::filesystem::path& root);

// Opens `relative` (a '/'-separated path under the root) with `flags`
// (O_RDONLY, O_NONBLOCK, ...; O_CLOEXEC is added).
[[nodiscard]] Result<UniqueFd> open_beneath(int root_fd, const std::filesystem::path& root_path,
                                            const std::string& relative, int flags);

// Opens the folder `relative` ("" = the root itself) for use with openat(),
// creating missing folders (mode 0750) when `create` is set.
[[nodiscard]] Result<UniqueFd> open_dir_beneath(int root_fd, const std::string& relative,
                                                bool create);

}  // namespace stockwatch
