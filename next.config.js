/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  serverExternalPackages: ['@libsql/client', 'libsql', 'pg', '@prisma/adapter-libsql', '@prisma/adapter-pg'],
};

export default nextConfig;
