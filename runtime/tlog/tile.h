// The C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles): a tree's hashes
// stored as tiles of 256 consecutive hashes at every eighth tree level, their
// paths (`tile/<L>/<N>[.p/<W>]`), entry bundles (`tile/entries/<N>[.p/<W>]`,
// big-endian uint16 length-prefixed entries), reading subtree hashes out of
// tiles, and building tiles incrementally as leaves are appended.
// docs/tlog.md describes the formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"
#include "runtime/tlog/merkle.h"

namespace gov::tlog {

// Tiles span 8 tree levels: a full tile holds 2^8 = 256 hashes (8,192 bytes).
inline constexpr unsigned kTileHeight = 8;
inline constexpr std::uint16_t kTileWidth = 256;
// The largest tile level a path may name (the spec's bound).
inline constexpr unsigned kMaxTileLevel = 63;
// Entry bundles prefix each entry with a uint16 length.
inline constexpr std::size_t kMaxEntrySize = 65535;

// Tile `index` at tile level `level`: the hashes of tree level 8 * level with
// indexes [index * 256, index * 256 + width). A width below 256 is a partial
// tile (the right edge of a tree whose size is not a multiple of its span).
// An entry bundle is named by a level 0 tile: the entries of its leaves.
struct Tile {
  std::uint8_t level = 0;
  std::uint64_t index = 0;
  std::uint16_t width = kTileWidth;

  bool operator==(const Tile&) const = default;
};

// "tile/<L>/<N>[.p/<W>]": N in 3-digit groups, all but the last prefixed
// with `x` (1234067 → x001/x234/067); `.p/<W>` only for partial tiles.
std::string TilePath(const Tile& tile);

// "tile/entries/<N>[.p/<W>]": the entry bundle of level 0 tile `tile`.
std::string EntryBundlePath(const Tile& tile);

// Parse exactly the paths TilePath / EntryBundlePath write (no leading
// zeros, no `x000` group, level <= 63, width 1..255 after `.p/`).
ErrorOr<Tile> ParseTilePath(std::string_view path);
ErrorOr<Tile> ParseEntryBundlePath(std::string_view path);

// The tile of a tree of `tree_size` leaves that holds `node`: tile level
// node.level / 8, with the width the tile has at that tree size. Fails if the
// node is not a complete subtree of that tree.
ErrorOr<Tile> TileForNode(const NodeId& node, std::uint64_t tree_size);

// The hash of `node` from `data`, the contents of `tile` (width * 32 bytes):
// the tile's hash itself when node.level is a multiple of 8, else the MTH of
// the 2^(node.level % 8) tile hashes below it.
ErrorOr<Hash> HashFromTile(const Tile& tile, std::string_view data, const NodeId& node);

// The partial tiles of a tree of `tree_size` leaves, lowest level first: at
// level l the tile of floor(tree_size / 256^l) mod 256 hashes, when not zero.
std::vector<Tile> PartialTiles(std::uint64_t tree_size);

// Where tiles are read from (a directory, an HTTP client, memory).
class TileSource {
 public:
  virtual ~TileSource() = default;
  // The contents of `tile`: width * 32 bytes (checked by the callers here).
  virtual ErrorOr<std::string> ReadTile(const Tile& tile) const = 0;
};

// Subtree hashes of a tree of a fixed size, read from its tiles: each tile a
// ReadHashes call needs is read once. `source` must outlive the reader.
class TileHashReader : public HashReader {
 public:
  TileHashReader(std::uint64_t tree_size, const TileSource& source) : tree_size_(tree_size), source_(source) {}

  ErrorOr<std::vector<Hash>> ReadHashes(std::span<const NodeId> nodes) const override;

 private:
  std::uint64_t tree_size_;
  const TileSource& source_;
};

// A tile and its contents (width * 32 bytes of hashes).
struct TileContents {
  Tile tile;
  std::string hashes;
};

// Builds the tiles of a growing tree. It keeps only the right edge (each
// level's partial tile), which is exactly what is needed to append and to
// compute the tree head.
class TileAppender {
 public:
  // The empty tree.
  TileAppender() = default;

  // Continues a tree of `tree_size` leaves from its partial tiles
  // (PartialTiles(tree_size)) read from `source`.
  static ErrorOr<TileAppender> Resume(std::uint64_t tree_size, const TileSource& source);

  // Appends leaves by their hashes (LeafHash of each entry) and returns every
  // tile that is new or grew — tiles completed and partial tiles that
  // changed — ordered by level then index. Writing them over the old ones
  // keeps a tile store complete for the new size.
  std::vector<TileContents> Append(std::span<const Hash> leaf_hashes);

  std::uint64_t size() const { return size_; }

  // MTH of the whole tree, from the right edge alone.
  Hash RootHash() const;

 private:
  std::uint64_t size_ = 0;
  // edge_[l]: the hashes of tile level l's partial tile (fewer than 256).
  std::vector<std::vector<Hash>> edge_;
};

// Encodes entries as a bundle: each as a big-endian uint16 length and its
// bytes. Fails for an entry longer than 65,535 bytes or more than 256 entries.
ErrorOr<std::string> EncodeEntryBundle(std::span<const std::string> entries);

// Decodes a bundle strictly: no truncated entry, at most 256 entries.
ErrorOr<std::vector<std::string>> DecodeEntryBundle(std::string_view bundle);

}  // namespace gov::tlog
