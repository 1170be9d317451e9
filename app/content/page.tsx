'use client';

import { memberScreen } from '../_components/member-screen';
import { WithCommunity } from './_components/content-context';

const Catalog = memberScreen(() => import('./_components/catalog').then((m) => m.Catalog));

export default function CatalogPage() {
  return <WithCommunity>{(community) => <Catalog community={community} />}</WithCommunity>;
}
