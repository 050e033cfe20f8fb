// C2SP tlog-tiles: tile and entry bundle paths, hashes out of tiles, the
// incremental tile builder, and the entry bundle encoding.
#include "runtime/tlog/tile.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "runtime/crypto/fast_sha256.h"
#include "runtime/support/display.h"

namespace gov::tlog {
namespace {

constexpr std::string_view kTilePrefix = "tile/";
constexpr std::string_view kEntriesPrefix = "tile/entries/";
constexpr std::string_view kPartialMarker = ".p/";

// The number of hashes at tile level `level`'s tree level in a tree of
// `tree_size` leaves.
std::uint64_t HashesAtTileLevel(std::uint64_t tree_size, unsigned level) {
  const unsigned shift = level * kTileHeight;
  return shift >= 64 ? 0 : tree_size >> shift;
}

// MTH of a complete subtree given its 2^k bottom hashes.
Hash SubtreeHash(std::span<const Hash> hashes) {
  std::vector<Hash> level(hashes.begin(), hashes.end());
  // The node hashes of one level are independent: hashed in one batch
  // (crypto::FastSha256Batch, two at a time), each 0x01 || left || right.
  std::string inputs;
  std::vector<std::string_view> messages;
  while (level.size() > 1) {
    const std::size_t nodes = level.size() / 2;
    constexpr std::size_t kNodeInput = 1 + 2 * kHashSize;
    inputs.resize(nodes * kNodeInput);
    messages.clear();
    for (std::size_t i = 0; i < nodes; ++i) {
      char* input = inputs.data() + i * kNodeInput;
      input[0] = 0x01;
      std::memcpy(input + 1, level[2 * i].data(), kHashSize);
      std::memcpy(input + 1 + kHashSize, level[2 * i + 1].data(), kHashSize);
      messages.emplace_back(input, kNodeInput);
    }
    crypto::FastSha256Batch(messages, std::span<Hash>(level.data(), nodes));
    level.resize(nodes);
  }
  return level[0];
}

std::string EncodeIndex(std::uint64_t index) {
  std::vector<std::uint64_t> groups;
  do {
    groups.push_back(index % 1000);
    index /= 1000;
  } while (index > 0);
  std::string out;
  for (std::size_t i = groups.size(); i-- > 0;) {
    const std::string digits = std::to_string(groups[i]);
    if (i > 0) {
      out.push_back('x');
    }
    out.append(3 - digits.size(), '0');
    out += digits;
    if (i > 0) {
      out.push_back('/');
    }
  }
  return out;
}

std::string WidthSuffix(std::uint16_t width) {
  return width < kTileWidth ? std::string(kPartialMarker) + std::to_string(width) : std::string();
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// A decimal number without leading zeros, at most `max`.
bool ParseSmallDecimal(std::string_view text, unsigned max, unsigned& value) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) {
    return false;
  }
  value = 0;
  for (const char c : text) {
    if (!IsDigit(c)) {
      return false;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= max;
}

// Parses "<N>[.p/<W>]" into tile.index and tile.width.
ErrorOr<void> ParseIndexAndWidth(std::string_view text, std::string_view path, Tile& tile) {
  const auto fail = [&](const std::string& why) -> Error {
    return Error{"tile path `" + EscapeForDisplay(path) + "`: " + why};
  };
  std::string_view index_text = text;
  tile.width = kTileWidth;
  if (const std::size_t dot = text.find('.'); dot != std::string_view::npos) {
    index_text = text.substr(0, dot);
    const std::string_view suffix = text.substr(dot);
    if (suffix.substr(0, kPartialMarker.size()) != kPartialMarker) {
      return fail("expected `.p/<width>` after the index");
    }
    unsigned width = 0;
    if (!ParseSmallDecimal(suffix.substr(kPartialMarker.size()), kTileWidth - 1, width) || width == 0) {
      return fail("partial tile width must be a decimal number from 1 to 255 without leading zeros");
    }
    tile.width = static_cast<std::uint16_t>(width);
  }
  if (index_text.empty()) {
    return fail("missing tile index");
  }
  std::uint64_t index = 0;
  std::size_t group_count = 0;
  while (true) {
    const std::size_t slash = index_text.find('/');
    const bool last = slash == std::string_view::npos;
    std::string_view element = last ? index_text : index_text.substr(0, slash);
    if (!last) {
      if (element.size() != 4 || element[0] != 'x') {
        return fail("index element `" + EscapeForDisplay(element) + "` must be `x` and 3 digits");
      }
      element.remove_prefix(1);
    }
    if (element.size() != 3 || !IsDigit(element[0]) || !IsDigit(element[1]) || !IsDigit(element[2])) {
      return fail("last index element `" + EscapeForDisplay(element) + "` must be 3 digits");
    }
    std::uint64_t group = 0;
    for (const char digit : element) {
      group = group * 10 + static_cast<std::uint64_t>(digit - '0');
    }
    if (group_count > 0 && index == 0) {
      return fail("index has a leading `x000` element");
    }
    if (index > (UINT64_MAX - group) / 1000) {
      return fail("index does not fit in 64 bits");
    }
    index = index * 1000 + group;
    ++group_count;
    if (last) {
      break;
    }
    index_text.remove_prefix(slash + 1);
  }
  tile.index = index;
  return {};
}

std::string TileName(const Tile& tile) {
  return "tile (level " + std::to_string(tile.level) + ", index " + std::to_string(tile.index) + ", width " +
         std::to_string(tile.width) + ")";
}

ErrorOr<void> CheckTileSize(const Tile& tile, std::string_view data) {
  const std::size_t expected = static_cast<std::size_t>(tile.width) * kHashSize;
  if (data.size() != expected) {
    return Error{TileName(tile) + " has " + std::to_string(data.size()) + " bytes, expected " +
                 std::to_string(expected)};
  }
  return {};
}

Hash HashAt(std::string_view data, std::size_t position) {
  Hash hash;
  std::memcpy(hash.data(), data.data() + position * kHashSize, kHashSize);
  return hash;
}

std::string Concatenate(std::span<const Hash> hashes) {
  std::string out;
  out.reserve(hashes.size() * kHashSize);
  for (const Hash& hash : hashes) {
    out.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  }
  return out;
}

}  // namespace

std::string TilePath(const Tile& tile) {
  return std::string(kTilePrefix) + std::to_string(tile.level) + "/" + EncodeIndex(tile.index) +
         WidthSuffix(tile.width);
}

std::string EntryBundlePath(const Tile& tile) {
  return std::string(kEntriesPrefix) + EncodeIndex(tile.index) + WidthSuffix(tile.width);
}

ErrorOr<Tile> ParseTilePath(std::string_view path) {
  if (path.substr(0, kTilePrefix.size()) != kTilePrefix) {
    return Error{"tile path `" + EscapeForDisplay(path) + "` does not start with `tile/`"};
  }
  std::string_view rest = path.substr(kTilePrefix.size());
  const std::size_t slash = rest.find('/');
  const std::string_view level_text = rest.substr(0, slash);
  unsigned level = 0;
  if (slash == std::string_view::npos || !ParseSmallDecimal(level_text, kMaxTileLevel, level)) {
    return Error{"tile path `" + EscapeForDisplay(path) +
                 "`: the level must be a decimal number from 0 to 63 without leading zeros"};
  }
  Tile tile;
  tile.level = static_cast<std::uint8_t>(level);
  GOV_RETURN_IF_ERROR(ParseIndexAndWidth(rest.substr(slash + 1), path, tile));
  return tile;
}

ErrorOr<Tile> ParseEntryBundlePath(std::string_view path) {
  if (path.substr(0, kEntriesPrefix.size()) != kEntriesPrefix) {
    return Error{"entry bundle path `" + EscapeForDisplay(path) + "` does not start with `tile/entries/`"};
  }
  Tile tile;
  GOV_RETURN_IF_ERROR(ParseIndexAndWidth(path.substr(kEntriesPrefix.size()), path, tile));
  return tile;
}

ErrorOr<Tile> TileForNode(const NodeId& node, std::uint64_t tree_size) {
  if (node.level > kMaxNodeLevel || node.index >= (tree_size >> node.level)) {
    return Error{"node (level " + std::to_string(node.level) + ", index " + std::to_string(node.index) +
                 ") is not a complete subtree of a tree of size " + std::to_string(tree_size)};
  }
  const unsigned tile_level = node.level / kTileHeight;
  const unsigned depth_in_tile = node.level % kTileHeight;
  const std::uint64_t first_hash = node.index << depth_in_tile;
  Tile tile;
  tile.level = static_cast<std::uint8_t>(tile_level);
  tile.index = first_hash / kTileWidth;
  const std::uint64_t available = HashesAtTileLevel(tree_size, tile_level) - tile.index * kTileWidth;
  tile.width = static_cast<std::uint16_t>(std::min<std::uint64_t>(available, kTileWidth));
  return tile;
}

ErrorOr<Hash> HashFromTile(const Tile& tile, std::string_view data, const NodeId& node) {
  GOV_RETURN_IF_ERROR(CheckTileSize(tile, data));
  const unsigned depth_in_tile = node.level % kTileHeight;
  const std::size_t count = std::size_t{1} << depth_in_tile;
  const std::size_t offset = static_cast<std::size_t>((node.index << depth_in_tile) % kTileWidth);
  if (node.level / kTileHeight != tile.level || (node.index >> (kTileHeight - depth_in_tile)) != tile.index ||
      offset + count > tile.width) {
    return Error{"node (level " + std::to_string(node.level) + ", index " + std::to_string(node.index) +
                 ") is not in " + TileName(tile)};
  }
  std::vector<Hash> hashes;
  hashes.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    hashes.push_back(HashAt(data, offset + i));
  }
  return SubtreeHash(hashes);
}

std::vector<Tile> PartialTiles(std::uint64_t tree_size) {
  std::vector<Tile> tiles;
  for (unsigned level = 0;; ++level) {
    const std::uint64_t count = HashesAtTileLevel(tree_size, level);
    if (count == 0) {
      break;
    }
    if (count % kTileWidth != 0) {
      tiles.push_back(
          Tile{static_cast<std::uint8_t>(level), count / kTileWidth, static_cast<std::uint16_t>(count % kTileWidth)});
    }
  }
  return tiles;
}

ErrorOr<std::vector<Hash>> TileHashReader::ReadHashes(std::span<const NodeId> nodes) const {
  std::map<std::tuple<std::uint8_t, std::uint64_t, std::uint16_t>, std::string> tiles;
  std::vector<Hash> hashes;
  hashes.reserve(nodes.size());
  for (const NodeId& node : nodes) {
    GOV_ASSIGN_OR_RETURN(const Tile tile, TileForNode(node, tree_size_));
    const auto key = std::make_tuple(tile.level, tile.index, tile.width);
    auto found = tiles.find(key);
    if (found == tiles.end()) {
      GOV_ASSIGN_OR_RETURN(std::string data, source_.ReadTile(tile));
      GOV_RETURN_IF_ERROR(CheckTileSize(tile, data));
      found = tiles.emplace(key, std::move(data)).first;
    }
    GOV_ASSIGN_OR_RETURN(const Hash hash, HashFromTile(tile, found->second, node));
    hashes.push_back(hash);
  }
  return hashes;
}

ErrorOr<TileAppender> TileAppender::Resume(std::uint64_t tree_size, const TileSource& source) {
  TileAppender appender;
  appender.size_ = tree_size;
  for (const Tile& tile : PartialTiles(tree_size)) {
    GOV_ASSIGN_OR_RETURN(const std::string data, source.ReadTile(tile));
    GOV_RETURN_IF_ERROR(CheckTileSize(tile, data));
    if (appender.edge_.size() <= tile.level) {
      appender.edge_.resize(tile.level + std::size_t{1});
    }
    for (std::size_t i = 0; i < tile.width; ++i) {
      appender.edge_[tile.level].push_back(HashAt(data, i));
    }
  }
  return appender;
}

std::vector<TileContents> TileAppender::Append(std::span<const Hash> leaf_hashes) {
  std::vector<TileContents> tiles;
  std::vector<bool> changed(edge_.size(), false);
  for (const Hash& leaf_hash : leaf_hashes) {
    const std::uint64_t new_size = size_ + 1;
    Hash carry = leaf_hash;
    for (unsigned level = 0;; ++level) {
      if (edge_.size() <= level) {
        edge_.emplace_back();
        changed.push_back(false);
      }
      std::vector<Hash>& partial = edge_[level];
      partial.push_back(carry);
      changed[level] = true;
      if (partial.size() < kTileWidth) {
        break;
      }
      const Tile full{static_cast<std::uint8_t>(level), HashesAtTileLevel(new_size, level) / kTileWidth - 1,
                      kTileWidth};
      tiles.push_back(TileContents{full, Concatenate(partial)});
      carry = SubtreeHash(partial);
      partial.clear();
    }
    size_ = new_size;
  }
  for (std::size_t level = 0; level < edge_.size(); ++level) {
    if (changed[level] && !edge_[level].empty()) {
      const Tile tile{static_cast<std::uint8_t>(level),
                      HashesAtTileLevel(size_, static_cast<unsigned>(level)) / kTileWidth,
                      static_cast<std::uint16_t>(edge_[level].size())};
      tiles.push_back(TileContents{tile, Concatenate(edge_[level])});
    }
  }
  std::sort(tiles.begin(), tiles.end(), [](const TileContents& a, const TileContents& b) {
    return std::tie(a.tile.level, a.tile.index) < std::tie(b.tile.level, b.tile.index);
  });
  return tiles;
}

Hash TileAppender::RootHash() const {
  std::vector<Hash> subtrees;
  for (std::size_t level = edge_.size(); level-- > 0;) {
    std::span<const Hash> partial(edge_[level]);
    for (std::size_t size = kTileWidth / 2; size > 0; size /= 2) {
      if ((partial.size() & size) != 0) {
        subtrees.push_back(SubtreeHash(partial.first(size)));
        partial = partial.subspan(size);
      }
    }
  }
  if (subtrees.empty()) {
    return EmptyTreeHash();
  }
  Hash root = subtrees.back();
  for (std::size_t i = subtrees.size() - 1; i-- > 0;) {
    root = NodeHash(subtrees[i], root);
  }
  return root;
}

ErrorOr<std::string> EncodeEntryBundle(std::span<const std::string> entries) {
  if (entries.size() > kTileWidth) {
    return Error{"an entry bundle holds at most 256 entries, got " + std::to_string(entries.size())};
  }
  std::string bundle;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& entry = entries[i];
    if (entry.size() > kMaxEntrySize) {
      return Error{"entry " + std::to_string(i) + " has " + std::to_string(entry.size()) +
                   " bytes; a bundle entry has at most 65535"};
    }
    bundle.push_back(static_cast<char>(entry.size() >> 8));
    bundle.push_back(static_cast<char>(entry.size() & 0xff));
    bundle += entry;
  }
  return bundle;
}

ErrorOr<std::vector<std::string>> DecodeEntryBundle(std::string_view bundle) {
  std::vector<std::string> entries;
  std::size_t position = 0;
  while (position < bundle.size()) {
    if (entries.size() == kTileWidth) {
      return Error{"entry bundle has more than 256 entries (byte " + std::to_string(position) + ")"};
    }
    if (bundle.size() - position < 2) {
      return Error{"entry bundle ends inside the length of entry " + std::to_string(entries.size())};
    }
    const std::size_t size = (static_cast<std::size_t>(static_cast<unsigned char>(bundle[position])) << 8) |
                             static_cast<unsigned char>(bundle[position + 1]);
    position += 2;
    if (bundle.size() - position < size) {
      return Error{"entry " + std::to_string(entries.size()) + " of the bundle needs " + std::to_string(size) +
                   " bytes, " + std::to_string(bundle.size() - position) + " remain"};
    }
    entries.emplace_back(bundle.substr(position, size));
    position += size;
  }
  return entries;
}

}  // namespace gov::tlog
