using System.Text;

namespace RlMemory.Tests.Build;

/// <summary>
/// Builds minimal little-endian ELF64 shared objects (section headers and the dynamic symbol-versioning sections
/// only; no program headers or code) to test cases that the real TorchSharp library does not exhibit.
/// </summary>
public static class SyntheticElf
{
    private const uint ShtStrtab = 3;
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;

    /// <summary>
    /// An object that needs <paramref name="versions"/> (indices 2, 3, … in order) from <paramref name="library"/>, with one
    /// undefined function symbol per entry of <paramref name="symbols"/> bound to the named version.
    /// </summary>
    public static byte[] WithNeeds(string library, IReadOnlyList<string> versions, IReadOnlyList<(string Symbol, string Version)> symbols)
    {
        var strings = new StringTable();
        uint file = strings.Add(library);
        uint[] versionNames = versions.Select(strings.Add).ToArray();

        var dynsym = new BinaryWriter(new MemoryStream());
        var versym = new BinaryWriter(new MemoryStream());
        dynsym.Write(new byte[24]); // symbol 0: the null symbol
        versym.Write((ushort)0);
        foreach ((string symbol, string version) in symbols)
        {
            int index = versions.ToList().IndexOf(version);
            if (index < 0)
            {
                throw new ArgumentException($"{symbol} is bound to {version}, which is not among the needed versions.", nameof(symbols));
            }

            dynsym.Write(strings.Add(symbol)); // st_name
            dynsym.Write((byte)0x12);          // st_info: STB_GLOBAL, STT_FUNC
            dynsym.Write((byte)0);             // st_other
            dynsym.Write((ushort)0);           // st_shndx: SHN_UNDEF
            dynsym.Write(0UL);                 // st_value
            dynsym.Write(0UL);                 // st_size
            versym.Write((ushort)(index + 2));
        }

        var verneed = new BinaryWriter(new MemoryStream());
        verneed.Write((ushort)1);               // vn_version
        verneed.Write((ushort)versions.Count);  // vn_cnt
        verneed.Write(file);                    // vn_file
        verneed.Write(16u);                     // vn_aux
        verneed.Write(0u);                      // vn_next
        for (int i = 0; i < versions.Count; i++)
        {
            verneed.Write(ElfHash(versions[i]));                // vna_hash
            verneed.Write((ushort)0);                           // vna_flags
            verneed.Write((ushort)(i + 2));                     // vna_other
            verneed.Write(versionNames[i]);                     // vna_name
            verneed.Write(i == versions.Count - 1 ? 0u : 16u);  // vna_next
        }

        return Assemble(
            new Section(ShtStrtab, strings.ToArray(), Link: 0, Info: 0, EntrySize: 0),
            new Section(ShtDynsym, Bytes(dynsym), Link: 1, Info: 1, EntrySize: 24),
            new Section(ShtGnuVersym, Bytes(versym), Link: 2, Info: 0, EntrySize: 2),
            new Section(ShtGnuVerneed, Bytes(verneed), Link: 1, Info: 1, EntrySize: 0));
    }

    /// <summary>An object named <paramref name="soname"/> that defines <paramref name="versions"/> (after its base definition).</summary>
    public static byte[] WithDefinitions(string soname, IReadOnlyList<string> versions)
    {
        var strings = new StringTable();
        string[] all = [soname, .. versions];
        var verdef = new BinaryWriter(new MemoryStream());
        for (int i = 0; i < all.Length; i++)
        {
            verdef.Write((ushort)1);                       // vd_version
            verdef.Write((ushort)(i == 0 ? 1 : 0));        // vd_flags: VER_FLG_BASE on the soname entry
            verdef.Write((ushort)(i + 1));                 // vd_ndx
            verdef.Write((ushort)1);                       // vd_cnt
            verdef.Write(ElfHash(all[i]));                 // vd_hash
            verdef.Write(20u);                             // vd_aux
            verdef.Write(i == all.Length - 1 ? 0u : 28u);  // vd_next
            verdef.Write(strings.Add(all[i]));             // vda_name
            verdef.Write(0u);                              // vda_next
        }

        return Assemble(
            new Section(ShtStrtab, strings.ToArray(), Link: 0, Info: 0, EntrySize: 0),
            new Section(ShtGnuVerdef, Bytes(verdef), Link: 1, Info: (uint)all.Length, EntrySize: 0));
    }

    private static byte[] Assemble(params Section[] sections)
    {
        var file = new BinaryWriter(new MemoryStream());
        file.Write(new byte[64]); // header, written last
        var offsets = new long[sections.Length];
        for (int i = 0; i < sections.Length; i++)
        {
            Align(file, 8);
            offsets[i] = file.BaseStream.Position;
            file.Write(sections[i].Data);
        }

        Align(file, 8);
        long sectionHeaders = file.BaseStream.Position;
        file.Write(new byte[64]); // section 0: SHT_NULL
        for (int i = 0; i < sections.Length; i++)
        {
            Section s = sections[i];
            file.Write(0u);                     // sh_name (no .shstrtab: sections are found by type)
            file.Write(s.Type);                 // sh_type
            file.Write(2UL);                    // sh_flags: SHF_ALLOC
            file.Write((ulong)offsets[i]);      // sh_addr
            file.Write((ulong)offsets[i]);      // sh_offset
            file.Write((ulong)s.Data.Length);   // sh_size
            file.Write(s.Link);                 // sh_link
            file.Write(s.Info);                 // sh_info
            file.Write(8UL);                    // sh_addralign
            file.Write(s.EntrySize);            // sh_entsize
        }

        file.Seek(0, SeekOrigin.Begin);
        file.Write([0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // ELFCLASS64, ELFDATA2LSB
        file.Write((ushort)3);                       // e_type: ET_DYN
        file.Write((ushort)62);                      // e_machine: EM_X86_64
        file.Write(1u);                              // e_version
        file.Write(0UL);                             // e_entry
        file.Write(0UL);                             // e_phoff
        file.Write((ulong)sectionHeaders);           // e_shoff
        file.Write(0u);                              // e_flags
        file.Write((ushort)64);                      // e_ehsize
        file.Write((ushort)56);                      // e_phentsize
        file.Write((ushort)0);                       // e_phnum
        file.Write((ushort)64);                      // e_shentsize
        file.Write((ushort)(sections.Length + 1));   // e_shnum
        file.Write((ushort)0);                       // e_shstrndx
        return Bytes(file);
    }

    private static void Align(BinaryWriter writer, int alignment)
    {
        while (writer.BaseStream.Position % alignment != 0)
        {
            writer.Write((byte)0);
        }
    }

    private static byte[] Bytes(BinaryWriter writer) => ((MemoryStream)writer.BaseStream).ToArray();

    private static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (byte c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0)
            {
                h ^= g >> 24;
            }

            h &= ~g;
        }

        return h;
    }

    private sealed record Section(uint Type, byte[] Data, uint Link, uint Info, ulong EntrySize);

    private sealed class StringTable
    {
        private readonly MemoryStream bytes = new();
        private readonly Dictionary<string, uint> offsets = new(StringComparer.Ordinal);

        public StringTable() => bytes.WriteByte(0); // offset 0 is the empty string

        public uint Add(string value)
        {
            if (!offsets.TryGetValue(value, out uint offset))
            {
                offset = (uint)bytes.Length;
                byte[] encoded = Encoding.ASCII.GetBytes(value + "\0");
                bytes.Write(encoded, 0, encoded.Length);
                offsets.Add(value, offset);
            }

            return offset;
        }

        public byte[] ToArray() => bytes.ToArray();
    }
}
